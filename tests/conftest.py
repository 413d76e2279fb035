"""Test set-up. PostgreSQL, Redis and Chromium tests run when those exist (CI always has them)."""

from __future__ import annotations

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

from billing_portal.audit.services import Actor

CHROMIUM = "/usr/bin/chromium"


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    redis_url = os.environ.get("REDIS_URL", "")
    skips = {
        "postgres": None if connection.vendor == "postgresql" else "needs PostgreSQL: set DATABASE_URL",
        "redis": None if redis_url and _reachable(redis_url) else "needs Redis: set REDIS_URL",
        "browser": None if shutil.which(CHROMIUM) else f"needs Chromium at {CHROMIUM}",
    }
    if os.environ.get("BILLING_REQUIRE_SERVICES"):
        missing = [reason for reason in skips.values() if reason]
        if missing:
            raise pytest.UsageError("BILLING_REQUIRE_SERVICES is set but: " + "; ".join(missing))
    for item in items:
        for marker, reason in skips.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
        # `make test` runs the suite on one worker per core (each with its own test database); the Redis tests share
        # one Redis database, so they take turns on one worker.
        if "redis" in item.keywords:
            item.add_marker(pytest.mark.xdist_group("redis"))


FIRST_PARTY_APPS = {"core", "audit", "accounts", "catalog", "subscriptions", "payments", "metering", "invoices",
                    "api", "portal"}


def _seed_if_flushed() -> None:
    """Transactional tests end with a flush that also empties what data migrations loaded (the plan catalog,
    tax rates, beat schedules...). Re-run our data migrations' forward functions when that happened."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations.special import RunPython

    from billing_portal.catalog.models import Plan

    if Plan.objects.exists():
        return
    graph = MigrationLoader(connection).graph
    seen: set[tuple[str, str]] = set()
    for leaf in graph.leaf_nodes():
        for node in graph.forwards_plan(leaf):
            if node in seen or node[0] not in FIRST_PARTY_APPS:
                continue
            seen.add(node)
            for operation in graph.nodes[node].operations:
                if isinstance(operation, RunPython):
                    operation.code(apps, None)


def _uses_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(fixtures & {"db", "transactional_db"})


@pytest.fixture(scope="session", autouse=True)
def _seed_session(request, django_db_setup, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    # pytest-django sets up no test database when no selected test needs one: then there is nothing to seed.
    if any(_uses_database(item) for item in request.session.items):
        with django_db_blocker.unblock():
            _seed_if_flushed()


@pytest.fixture(autouse=True)
def _seed_transactional(request) -> None:  # type: ignore[no-untyped-def]
    marker = request.node.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        _seed_if_flushed()


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture(autouse=True)
def _isolated_files(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every test writes media, PDFs and mail into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "invoice_pdfs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "invoices"), "base_url": None},
        },
    }
