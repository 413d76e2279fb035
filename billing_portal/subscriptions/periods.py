"""Billing periods computed from a stored anchor, in the org's time zone.

Boundary n is the anchor moved n months (or years) forward with the day clamped to the month's length:
an anchor on Jan 31 gives Feb 28 (29 in leap years), Mar 31, Apr 30, ...; a yearly anchor on Feb 29 gives
Feb 28 in common years. Each boundary comes from the anchor, never from the previous boundary, so a
short month never drags later periods earlier.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from billing_portal.catalog.models import Interval


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end


def _months_per_step(interval: str) -> int:
    return 12 if interval == Interval.YEAR else 1


def _shift_months(local: datetime, months: int) -> datetime:
    index = local.year * 12 + (local.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def boundary(anchor: datetime, interval: str, tz: tzinfo, n: int) -> datetime:
    """The n-th period boundary after the anchor (n=0 is the anchor itself), as an aware UTC datetime."""
    local_anchor = anchor.astimezone(tz).replace(tzinfo=None)
    shifted = _shift_months(local_anchor, n * _months_per_step(interval))
    return shifted.replace(tzinfo=tz).astimezone(UTC)


def period_containing(anchor: datetime, interval: str, tz: tzinfo, at: datetime) -> Period:
    """The anchor-based period [start, end) that contains `at`; `at` before the anchor gives the first period."""
    local_anchor = anchor.astimezone(tz)
    local_at = at.astimezone(tz)
    step = _months_per_step(interval)
    n = max(((local_at.year - local_anchor.year) * 12 + local_at.month - local_anchor.month) // step, 0)
    while n > 0 and boundary(anchor, interval, tz, n) > at:
        n -= 1
    while boundary(anchor, interval, tz, n + 1) <= at:
        n += 1
    return Period(boundary(anchor, interval, tz, n), boundary(anchor, interval, tz, n + 1))


def usage_window(anchor: datetime, tz: tzinfo, at: datetime) -> Period:
    """Quotas are monthly on every plan: yearly plans get twelve monthly windows from the same anchor."""
    return period_containing(anchor, Interval.MONTH, tz, at)
