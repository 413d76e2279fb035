"""The one clock all billing time comes from.

An organization may carry a test clock (as Stripe's test clocks do): its time is frozen at a chosen instant
and moves only when staff advance it. Every billing rule asks `now(org=...)` and so obeys that clock.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import F, Q
from django.utils import timezone

if TYPE_CHECKING:
    from accounts.models import Organization


_real_time_override: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "real_time_override", default=None
)


def now(*, org: Organization | None = None) -> datetime:
    if org is not None and org.test_clock_id is not None:
        # Read fresh: an org instance loaded before the clock moved must not see the old time.
        from billing_portal.core.models import TestClock

        frozen: datetime = TestClock.objects.values_list("frozen_time", flat=True).get(pk=org.test_clock_id)
        return frozen
    return _real_time_override.get() or timezone.now()


@contextmanager
def running_at(at: datetime) -> Iterator[None]:
    """Run jobs as if real time were `at` (orgs with a test clock keep reading their own clock)."""
    token = _real_time_override.set(at)
    try:
        yield
    finally:
        _real_time_override.reset(token)


def due_q(field: str, *, org_path: str = "org", at: datetime | None = None, lead: timedelta = timedelta(0)) -> Q:
    """A filter for rows whose `field` is at or before now + `lead` on their own org's clock.

    Rows of orgs without a test clock compare with real time (or `at`); rows of orgs with one compare with
    that clock's frozen time, so beat never runs a test-clock org's jobs early.
    """
    real_now = at or now()
    clock = f"{org_path}__test_clock" if org_path else "test_clock"
    return Q(**{f"{clock}__isnull": True, f"{field}__lte": real_now + lead}) | Q(
        **{f"{clock}__isnull": False, f"{field}__lte": F(f"{clock}__frozen_time") + lead}
    )
