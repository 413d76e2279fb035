"""Reads about a subscription that pages, the API and admin show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing_portal.catalog.selectors import plan_is_free, plan_price
from billing_portal.core import clock
from billing_portal.core.money import Money
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.services.seats import billed_seat_price, seat_day_proration


def status_label(subscription: Subscription) -> str:
    """What owners see: Trial, Active, Canceling, Past due, Paused or Canceled."""
    if subscription.status == Status.ACTIVE and subscription.cancel_at_period_end:
        return "Canceling"
    return str(Status(subscription.status).label)


def status_css(subscription: Subscription) -> str:
    return "canceling" if status_label(subscription) == "Canceling" else subscription.status


@dataclass(frozen=True)
class NextCharge:
    at: datetime
    amount: Money
    description: str


def next_charge(subscription: Subscription) -> NextCharge | None:
    """The next scheduled charge (before tax and seat prorations), or None when nothing will be charged."""
    if subscription.cancel_at_period_end:  # a canceled trial ends on Free too: nothing is charged
        return None
    if subscription.status == Status.TRIALING:
        return NextCharge(subscription.period.end, subscription.recurring_price(),
                          f"{subscription.plan.name} after the trial")
    if subscription.status not in (Status.ACTIVE, Status.PAST_DUE):
        return None
    plan, interval = subscription.plan, subscription.interval
    if subscription.scheduled_plan is not None:
        plan, interval = subscription.scheduled_plan, subscription.scheduled_interval
        if plan_is_free(plan, subscription.currency):
            return None
        price = plan_price(plan, subscription.currency)
        amount = price.base(interval) + price.seat(interval) * subscription.seat_quantity
    else:
        amount = subscription.recurring_price()
    if amount.amount == 0:
        return None
    return NextCharge(subscription.period.end, amount, f"{plan.name} ({interval}ly)")


def trial_days_left(subscription: Subscription) -> int | None:
    if subscription.status != Status.TRIALING or subscription.trial_end is None:
        return None
    seconds = (subscription.trial_end - clock.now(org=subscription.org)).total_seconds()
    return max(0, -int(-seconds // 86_400))  # whole days, rounded up


def seat_change_cost(subscription: Subscription) -> Money:
    """What one more seat added today costs on the next invoice (prorated to the day)."""
    org = subscription.org
    return seat_day_proration(billed_seat_price(subscription), subscription.period,
                              clock.now(org=org).astimezone(org.tz).date(), org.tz)
