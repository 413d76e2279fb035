"""Metering reads for the portal, the API and staff. Each costs a fixed number of queries, any data size."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet, Sum

from accounts.models import Membership, Organization, Space
from billing_portal.catalog.models import Meter
from billing_portal.catalog.selectors import Entitlements, entitlements_for
from billing_portal.core import clock
from billing_portal.core.errors import NotFound
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.periods import Period
from metering.models import (
    CreditEntry,
    CreditPool,
    LineItem,
    UsageCounter,
    UsageEvent,
    UsageRollup,
    UsageWindow,
)
from metering.models.usage import ORG_SUBJECT
from metering.services.rules import meter_state, remaining
from metering.services.windows import window_for


def current_window(org: Organization) -> Period:
    return window_for(org, org.subscription, clock.now(org=org))


def orgs_due_for_cycle_reset(*, at: datetime | None = None) -> QuerySet[Organization]:
    """Orgs whose stored window has ended on their own clock, and subscribed orgs never opened at all."""
    due = UsageWindow.objects.filter(clock.due_q("window_end", at=at)).values("org_id")
    return Organization.objects.filter(
        Q(pk__in=due) | Q(usage_window__isnull=True, subscription__isnull=False),
        purged_at__isnull=True,
    ).exclude(subscription__status=Status.CANCELED)


@dataclass(frozen=True)
class CreditBalance:
    allotment: int
    topups: int
    next_refill_at: datetime

    @property
    def total(self) -> int:
        return self.allotment + self.topups

    def as_json(self) -> dict[str, Any]:
        return {
            "balance": self.total,
            "allotment": self.allotment,
            "topups": self.topups,
            "next_refill_at": self.next_refill_at.isoformat(),
        }


def credit_balance(*, org: Organization, member: Membership | None = None) -> CreditBalance:
    """The org's pool on pooled plans; on per-member plans one member's pool, or the current members' together."""
    pools = CreditPool.objects.filter(Q(member__isnull=True) | Q(member__removed_at__isnull=True), org=org)
    if member is not None and not org.subscription.plan.pooled_credits:
        pools = pools.filter(member=member)
    totals = pools.aggregate(allotment=Sum("allotment_balance"), topups=Sum("topup_balance"))
    return CreditBalance(totals["allotment"] or 0, totals["topups"] or 0, current_window(org).end)


def credit_ledger(
    *, org: Organization, member: Membership | None = None, page: int = 1, per_page: int = 50
) -> Page:
    entries = (
        CreditEntry.objects.filter(org=org).select_related("member__user", "invoice").order_by("-at", "-id")
    )
    if member is not None:
        entries = entries.filter(member=member)
    return Paginator(entries, per_page).get_page(page)


@dataclass(frozen=True)
class MeterUsage:
    meter: str
    name: str
    unit: str
    used: int
    quota: int | None
    hard_limit: int | None
    window: Period

    @property
    def state(self) -> str:
        return meter_state(self.used, self.quota, self.hard_limit)

    @property
    def remaining(self) -> int | None:
        return remaining(self.quota, self.used)

    def as_json(self) -> dict[str, Any]:
        return {
            "limit": self.quota,
            "used": self.used,
            "remaining": self.remaining,
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
        }


def quota_usage(*, org: Organization, entitlements: Entitlements | None = None) -> list[MeterUsage]:
    """Every meter in the current window: the exact counters with the limits they enforce (those of the plan when
    the window opened: a catalog change applies from the next window), and the plan's limits when not yet counted.

    `entitlements`: the org's, when the caller has them already."""
    window = current_window(org)
    entitlements = entitlements or entitlements_for(plan=org.subscription.plan, org=org)
    rows = UsageCounter.objects.filter(org=org, window_start=window.start, subject=ORG_SUBJECT).values_list(
        "meter", "used", "quota", "hard_limit", "limits_set"
    )
    used = {meter: count for meter, count, *_ in rows}
    enforced = {meter: (quota, hard_limit) for meter, _, quota, hard_limit, limits_set in rows if limits_set}
    return [
        MeterUsage(m.code, m.name, m.unit, used.get(m.code, 0),
                   *enforced.get(m.code, (entitlements.quota(m.code), entitlements.hard_limit(m.code))), window)
        for m in Meter.objects.all()
    ]


def quota_for(*, org: Organization, meter: str) -> MeterUsage:
    found = next((usage for usage in quota_usage(org=org) if usage.meter == meter), None)
    if found is None:
        raise NotFound(f"No meter {meter!r}.")
    return found


def _rollups(org: Organization, window: Period | None, meter: str | None) -> QuerySet[UsageRollup]:
    window = window or current_window(org)
    rollups = UsageRollup.objects.filter(
        org=org,
        day__gte=window.start.astimezone(org.tz).date(),
        day__lte=window.end.astimezone(org.tz).date(),
    )
    return rollups.filter(meter=meter) if meter else rollups


def usage_daily_series(
    *, org: Organization, meter: str | None = None, window: Period | None = None
) -> list[dict[str, Any]]:
    """[{day, meter, quantity, events, failed_events, credits}] for each day of the window with usage."""
    rows = (
        _rollups(org, window, meter)
        .values("day", "meter")
        .annotate(
            quantity=Sum("quantity"),
            events=Sum("events"),
            failed_events=Sum("failed_events"),
            credits=Sum("credits"),
        )
        .order_by("day", "meter")
    )
    return list(rows)


BREAKDOWNS = ("member", "space", "agent", "model", "integration", "line_item")


@dataclass(frozen=True)
class BreakdownRow:
    key: Any
    label: str
    quantity: int
    events: int
    credits: int


def _labels(by: str, keys: list[Any]) -> dict[Any, str]:
    if by == "member":
        return dict(Membership.objects.filter(pk__in=keys).values_list("pk", "user__email"))
    if by == "space":
        return dict(Space.objects.filter(pk__in=keys).values_list("pk", "name"))
    if by == "line_item":
        return dict(LineItem.choices)
    return {}


def usage_breakdown(
    *, org: Organization, by: str, meter: str | None = None, window: Period | None = None
) -> list[BreakdownRow]:
    """Totals by one dimension over the window, largest first, from the rollups only (two queries at most)."""
    if by not in BREAKDOWNS:
        raise ValueError(f"breakdown by one of {BREAKDOWNS}")
    column = f"{by}_id" if by in ("member", "space") else by
    rows = list(
        _rollups(org, window, meter)
        .values(column)
        .annotate(quantity=Sum("quantity"), events=Sum("events"), credits=Sum("credits"))
        .order_by("-quantity", column)
    )
    labels = _labels(by, [row[column] for row in rows if row[column]])
    return [
        BreakdownRow(
            row[column],
            labels.get(row[column], row[column] or "—"),
            row["quantity"],
            row["events"],
            row["credits"],
        )
        for row in rows
    ]


def usage_log(
    *,
    org: Organization,
    meter: str | None = None,
    member: Membership | None = None,
    space: Space | None = None,
    success: bool | None = None,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
) -> QuerySet[UsageEvent]:
    """The per-call log, newest first, filtered; the caller paginates. `member` stands for the person: their
    calls under every membership they have had in the org (one who left and rejoined has two)."""
    events = UsageEvent.objects.filter(org=org).select_related("member__user", "space")
    filters = {
        "meter": meter,
        "member__user_id": member.user_id if member else None,
        "space": space,
        "success": success,
        "occurred_at__gte": _day_start(since, org.tz),
        "occurred_at__lt": _day_start(until, org.tz),
    }
    return events.filter(**{name: value for name, value in filters.items() if value is not None})


def _day_start(value: datetime | date | None, tz: tzinfo) -> datetime | None:
    """A day's start in the org's time zone, where the chart counts its days; a datetime as it is."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tz)


def usage_per_member(*, org: Organization) -> dict[int, dict[str, int]]:
    """{membership id: {meter: used}} in the current window, for the Members page (one query)."""
    window = current_window(org)
    usage: dict[int, dict[str, int]] = defaultdict(dict)
    rows = UsageCounter.objects.filter(org=org, window_start=window.start, member__isnull=False)
    for member_id, meter, used in rows.values_list("member_id", "meter", "used"):
        usage[member_id][meter] = used
    return dict(usage)
