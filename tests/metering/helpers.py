"""Metering test data, built through the services like every other test."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from rest_framework.test import APIClient

from accounts.models import Organization
from billing_portal.api.keys import api_key_create
from billing_portal.audit.services import Actor
from billing_portal.core.models import TestClock
from metering.models import UsageCounter
from metering.services import UsageInput, credits_cycle_reset, usage_record
from tests.factories import make_org

ACTOR = Actor.system("tests")
START = datetime(2026, 3, 10, 12, tzinfo=UTC)


def metered_org(plan: str = "team", **kwargs: Any) -> Organization:
    """An org whose usage window and credit pools are open, on a test clock at START."""
    org = make_org(plan=plan, clock_at=kwargs.pop("clock_at", START), **kwargs)
    credits_cycle_reset(org=org, actor=ACTOR)
    return reload(org)


def reload(org: Organization) -> Organization:
    return Organization.objects.select_related("subscription__plan", "test_clock").get(pk=org.pk)


def move_clock(org: Organization, to: datetime) -> Organization:
    TestClock.objects.filter(pk=org.test_clock_id).update(frozen_time=to)
    return reload(org)


def api_client(org: Organization, *, kind: str = "live", scopes: tuple[str, ...] = ("usage",)) -> APIClient:
    _, secret = api_key_create(
        org=org, name="tests", kind=kind, scopes=list(scopes), actor=ACTOR, may_grant_billing_write=True
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


_counter = iter(range(10**9))


def record(
    org: Organization, meter: str = "tool_calls", quantity: int = 1, *, test_mode: bool = False, **fields: Any
) -> Any:
    """Record one event (a fresh key unless `key` is given) and return its outcome."""
    key = fields.pop("key", None) or f"evt-{next(_counter)}"
    return usage_record(
        org=reload(org),
        events=[UsageInput(key=key, meter=meter, quantity=quantity, **fields)],
        test_mode=test_mode,
    )[0]


def hold_org_counter(org: Organization, locked: threading.Event, release: threading.Event) -> None:
    """What a usage request holds between its lock and its commit: the org's tool_calls counter, until released."""
    with transaction.atomic():
        UsageCounter.objects.select_for_update().get(org=org, meter="tool_calls", subject="org")
        locked.set()
        release.wait(30)
