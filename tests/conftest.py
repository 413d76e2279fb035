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
