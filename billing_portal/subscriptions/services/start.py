"""Starting an org's subscription: Free, a trial of a paid plan, or a paid plan straight away."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction

from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import plan_is_free
from billing_portal.core import clock
from billing_portal.core.errors import InvalidInput
from billing_portal.payments.services import invoice_collect
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.notifications import notify_owner
from billing_portal.subscriptions.periods import Period, period_containing
from billing_portal.subscriptions.services.credits import after_plan_change
from billing_portal.subscriptions.services.payment_state import subscription_sync_payment_state
from billing_portal.subscriptions.services.proration import subscription_recurring_lines
from invoices.models import Invoice, InvoiceKind
from invoices.services import invoice_issue

if TYPE_CHECKING:
    from accounts.models import Organization


def collect_and_sync(invoice: Invoice | None, subscription: Subscription, actor: Actor, *, on_session: bool) -> None:
    if invoice is not None:
        result = invoice_collect(invoice=invoice, actor=actor, on_session=on_session)
        if not result.succeeded:
            notify_owner(subscription.org, "payment_failed", invoice=invoice, reason=result.failure_message)
    subscription_sync_payment_state(org=subscription.org, actor=actor)


def subscription_start_paid_cycle(
    subscription: Subscription, *, at: datetime, actor: Actor, on_session: bool
) -> Invoice | None:
    """Begin paying: a new anchor at `at` and the first period's invoice. Call with the subscription locked."""
    org = subscription.org
    period = period_containing(at, subscription.interval, org.tz, at)
    subscription.billing_anchor = at
    subscription.current_period_start, subscription.current_period_end = period.start, period.end
    subscription.status = Status.ACTIVE
    subscription.save()
    after_plan_change(org=org, actor=actor)
    invoice = invoice_issue(org=org, kind=InvoiceKind.SUBSCRIPTION_START, currency=subscription.currency,
                            lines=subscription_recurring_lines(subscription, period), period=period, actor=actor,
                            subscription=subscription)
    collect_and_sync(invoice, subscription, actor, on_session=on_session)
    return invoice


def subscription_start(
    *, org: Organization, plan: Plan, interval: str = Interval.MONTH, trial: bool = True, actor: Actor
) -> Subscription:
    if plan.is_contact_sales:
        raise InvalidInput(f"{plan.name} is assigned by staff with negotiated prices.", code="contact_sales")
    is_free = plan_is_free(plan, org.currency)
    if is_free:
        interval = Interval.MONTH
    if interval not in Interval.values:
        raise InvalidInput(f"Unknown billing interval {interval!r}.", fields={"interval": ["Choose month or year."]})
    now = clock.now(org=org)
    with transaction.atomic():
        if is_free:
            anchor = org.created_at  # Free plans reset on the sign-up day of month
            period = period_containing(anchor, Interval.MONTH, org.tz, now)
            status, trial_end = Status.ACTIVE, None
        elif trial and plan.trial_days:
            anchor = now
            trial_end = now + timedelta(days=plan.trial_days)
            period = Period(now, trial_end)
            status = Status.TRIALING
        else:
            anchor, period, trial_end = now, period_containing(now, interval, org.tz, now), None
            status = Status.ACTIVE
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
        if status == Status.ACTIVE and not is_free:
            subscription_start_paid_cycle(subscription, at=now, actor=actor, on_session=True)
        else:
            after_plan_change(org=org, actor=actor)
    return subscription
