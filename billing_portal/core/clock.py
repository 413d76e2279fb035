"""The one clock all billing time comes from.

An organization may carry a test clock (as Stripe's test clocks do): its time is frozen at a chosen instant
and moves only when staff advance it. Every billing rule asks `now(org=...)` and so obeys that clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db.models import F, Q
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import Organization


def now(*, org: Organization | None = None) -> datetime:
    if org is not None and org.test_clock_id is not None:
        return org.test_clock.frozen_time
    return timezone.now()


def due_q(field: str, *, org_path: str = "org", at: datetime | None = None) -> Q:
    """A filter for rows whose `field` has passed on their own org's clock.

    Rows of orgs without a test clock compare with real time (or `at`); rows of orgs with one compare with
    that clock's frozen time, so beat never runs a test-clock org's jobs early.
    """
    real_now = at or timezone.now()
    clock = f"{org_path}__test_clock"
    return Q(**{f"{clock}__isnull": True, f"{field}__lte": real_now}) | Q(
        **{f"{clock}__isnull": False, f"{field}__lte": F(f"{clock}__frozen_time")}
    )
