"""Starting an org's subscription: Free, a trial of a paid plan, or a paid plan straight away."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction

from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import plan_price
from billing_portal.core import clock
from billing_portal.core.errors import InvalidInput
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.periods import Period, period_containing

if TYPE_CHECKING:
    from accounts.models import Organization


def free_anchor(org: Organization) -> Period:
    """Free plans reset on the sign-up day of month."""
    return period_containing(org.created_at, Interval.MONTH, org.tz, clock.now(org=org))


def subscription_start(
    *, org: Organization, plan: Plan, interval: str = Interval.MONTH, trial: bool = True, actor: Actor
) -> Subscription:
    is_free = plan_price(plan, org.currency).is_free
    if is_free:
        interval = Interval.MONTH
    if interval not in Interval.values:
        raise InvalidInput(f"Unknown billing interval {interval!r}.", fields={"interval": ["Choose month or year."]})
    now = clock.now(org=org)
    with transaction.atomic():
        if is_free:
            anchor = org.created_at
            period = free_anchor(org)
            status, trial_end = Status.ACTIVE, None
        elif trial and plan.trial_days:
            anchor = now
            trial_end = now + timedelta(days=plan.trial_days)
            period = Period(now, trial_end)
            status = Status.TRIALING
        else:
            anchor = now
            period = period_containing(anchor, interval, org.tz, now)
            status, trial_end = Status.ACTIVE, None
        subscription = Subscription.objects.create(
            org=org,
            plan=plan,
            interval=interval,
            currency=org.currency,
            status=status,
            billing_anchor=anchor,
            current_period_start=period.start,
            current_period_end=period.end,
            trial_end=trial_end,
            seat_quantity=1,
            created_at=now,
        )
        audit_record(
            org=org,
            actor=actor,
            action="subscription.started",
            target=subscription,
            after={"plan": plan.code, "interval": interval, "status": status, "trial_end": trial_end},
        )
    return subscription
