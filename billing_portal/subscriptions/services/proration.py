"""Local quotes for plan changes, prorated to the second the way Stripe does it.

A change inside the same billing cycle credits the unused time on every old item and charges the remaining time
on every new item, each line rounded on its own. A change that starts a new cycle (Free to paid, a paused or
trial-ended org paying, month to year) credits the unused time and charges the new price for a whole period
starting now, which becomes the new billing anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import plan_is_free, plan_price
from billing_portal.core.money import Money, sum_money
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.periods import Period, period_containing
from invoices.models import LineKind
from invoices.services import LineSpec

INTERVAL_RANK = {Interval.MONTH: 0, Interval.YEAR: 1}


@dataclass(frozen=True)
class ChangeQuote:
    plan: Plan
    interval: str
    proration_at: datetime
    lines: tuple[LineSpec, ...]
    period: Period  # the subscription's period once the change applies
    new_cycle: bool  # the change starts a new period (and anchor) at `proration_at`

    @property
    def amount_due(self) -> Money:
        return sum_money([line.amount for line in self.lines], self.currency)

    @property
    def currency(self) -> str:
        return self.lines[0].unit_amount.currency if self.lines else "USD"


def is_current_plan(subscription: Subscription, plan: Plan, interval: str) -> bool:
    """The subscription's own plan and interval; Free is Free whatever the interval (nothing is billed)."""
    if plan.pk != subscription.plan_id:
        return False
    return interval == subscription.interval or plan_is_free(plan, subscription.currency)


def applies_now(subscription: Subscription, plan: Plan, interval: str) -> bool:
    """Upgrades apply at once; downgrades, shorter intervals and cancellations wait for the period end."""
    if subscription.status in (Status.TRIALING, Status.PAUSED) or not subscription.is_paid:
        return True
    current = (subscription.plan.display_order, INTERVAL_RANK[subscription.interval])
    target = (plan.display_order, INTERVAL_RANK[interval])
    if target[0] > current[0]:
        return target[1] >= current[1]
    return target[0] == current[0] and target[1] > current[1]


def _seat_label(seats: int, plan: Plan) -> str:
    return f"{seats} {plan.name} seat{'s' if seats != 1 else ''}"


def quote_change(*, subscription: Subscription, plan: Plan, interval: str, at: datetime) -> ChangeQuote:
    """What changing to `plan`/`interval` at `at` costs now; the same inputs always give the same quote."""
    org = subscription.org
    currency = subscription.currency
    price = plan_price(plan, currency)
    seats = subscription.seat_quantity
    current = Period(subscription.current_period_start, subscription.current_period_end)
    if subscription.status == Status.TRIALING:  # the trial carries on with the new plan; nothing is due yet
        return ChangeQuote(plan, interval, at, (), current, new_cycle=False)

    paying_now = subscription.status in (Status.ACTIVE, Status.PAST_DUE) and subscription.is_paid
    remaining, total = int((current.end - at).total_seconds()), current.seconds
    lines: list[LineSpec] = []
    if paying_now:
        when = f"after {at.astimezone(org.tz):%b %-d, %Y %H:%M}"
        old_name = subscription.plan.name
        lines.append(LineSpec(LineKind.PLAN_PRORATION, f"Unused time on {old_name} {when}",
                              -subscription.base_price().prorate(remaining, total)))
        old_seat = subscription.seat_price()
        if old_seat.amount and seats:
            old_seat_label = _seat_label(seats, subscription.plan)
            lines.append(LineSpec(LineKind.PLAN_PRORATION, f"Unused time on {old_seat_label} {when}",
                                  -(old_seat * seats).prorate(remaining, total)))

    if paying_now and interval == subscription.interval:
        when = f"after {at.astimezone(org.tz):%b %-d, %Y %H:%M}"
        rest = Period(at, current.end)
        lines.append(LineSpec(LineKind.PLAN_PRORATION, f"Remaining time on {plan.name} {when}",
                              price.base(interval).prorate(remaining, total), period=rest))
        if price.seat(interval).amount and seats:
            lines.append(LineSpec(LineKind.PLAN_PRORATION, f"Remaining time on {_seat_label(seats, plan)} {when}",
                                  (price.seat(interval) * seats).prorate(remaining, total), period=rest))
        return ChangeQuote(plan, interval, at, tuple(lines), current, new_cycle=False)

    period = period_containing(at, interval, org.tz, at)
    lines += recurring_lines(plan=plan, interval=interval, base=price.base(interval), seat=price.seat(interval),
                             seats=seats, period=period)
    return ChangeQuote(plan, interval, at, tuple(lines), period, new_cycle=True)


def recurring_lines(
    *, plan: Plan, interval: str, base: Money, seat: Money, seats: int, period: Period
) -> list[LineSpec]:
    """A whole period of a recurring price: the base line, and a seat line when seats are priced."""
    lines = [LineSpec(LineKind.PLAN, f"{plan.name} plan ({Interval(interval).label.lower()})", base, period=period)]
    if seat.amount and seats:
        lines.append(LineSpec(LineKind.SEATS, f"{plan.name} seats", seat, quantity=seats, period=period))
    return lines


def subscription_recurring_lines(subscription: Subscription, period: Period) -> list[LineSpec]:
    """The subscription's own recurring price (custom prices included) for `period`."""
    return recurring_lines(plan=subscription.plan, interval=subscription.interval, base=subscription.base_price(),
                           seat=subscription.seat_price(), seats=subscription.seat_quantity, period=period)
