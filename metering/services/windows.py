"""Usage windows and the counters' limits: the one place limits are copied from the plan and caps."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from billing_portal.catalog.models import Meter
from billing_portal.catalog.selectors import Entitlements
from billing_portal.subscriptions.periods import Period, usage_window
from metering.models import UsageCap, UsageCounter
from metering.models.usage import ORG_SUBJECT
from metering.services.usage_sql import counter_lock_key

if TYPE_CHECKING:
    from accounts.models import Organization
    from billing_portal.subscriptions.models import Subscription


def window_for(org: Organization, subscription: Subscription, at: datetime) -> Period:
    return usage_window(subscription.billing_anchor, org.tz, at)


def _org_counter(org: Organization, meter: str, window: Period, entitlements: Entitlements) -> UsageCounter:
    return UsageCounter(
        org=org,
        meter=meter,
        window_start=window.start,
        subject=ORG_SUBJECT,
        quota=entitlements.quota(meter),
        hard_limit=entitlements.hard_limit(meter),
        limits_set=True,
    )


def _cap_counter(cap: UsageCap, window: Period, limit: int | None) -> UsageCounter:
    return UsageCounter(
        org_id=cap.org_id,
        meter=cap.meter,
        window_start=window.start,
        subject=cap.subject,
        member_id=cap.member_id,
        space_id=cap.space_id,
        quota=limit,
        hard_limit=limit,
    )


def counters_upsert_limits(counters: list[UsageCounter]) -> None:
    """Create the counters or set their limits, keeping what was already counted; rows in the lock order."""
    UsageCounter.objects.bulk_create(
        sorted(counters, key=lambda counter: counter_lock_key(counter.meter, counter.subject)),
        update_conflicts=True,
        unique_fields=["org", "meter", "window_start", "subject"],
        update_fields=["quota", "hard_limit", "limits_set"],
    )


def cap_limit_apply(*, cap: UsageCap, window: Period, limit: int | None) -> None:
    """Give the cap's counter in the window `limit` (None: the cap is gone), creating it if need be."""
    counters_upsert_limits([_cap_counter(cap, window, limit)])


def counters_open(*, org: Organization, window: Period, entitlements: Entitlements) -> None:
    """Counters of every meter for the window with the plan's limits, and one per cap with the cap's limit."""
    meters = Meter.objects.values_list("code", flat=True)
    counters = [_org_counter(org, code, window, entitlements) for code in meters]
    counters += [_cap_counter(cap, window, cap.limit) for cap in UsageCap.objects.filter(org=org)]
    counters_upsert_limits(counters)


def usage_limits_refresh(*, org: Organization, window: Period, entitlements: Entitlements) -> None:
    """Apply the current plan's quotas to the window's open org counters (after a plan or override change)."""
    opened = UsageCounter.objects.filter(org=org, window_start=window.start, subject=ORG_SUBJECT)
    counters_upsert_limits(
        [_org_counter(org, meter, window, entitlements) for meter in opened.values_list("meter", flat=True)]
    )
