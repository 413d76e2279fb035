"""Period-end work for one subscription: trial expiry, renewal, and scheduled downgrades or cancellations.

Each function locks the subscription, re-checks that the work is still due on the org's clock, and claims a
JobRun key for (job, org, period) in the same transaction, so a second run (or a second beat) changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.selectors import plan_is_free
from billing_portal.core import clock
from billing_portal.payments.services import payment_method_default
from billing_portal.subscriptions.models import JobRun, Status
from billing_portal.subscriptions.notifications import notify_owner
from billing_portal.subscriptions.periods import period_containing
from billing_portal.subscriptions.services.changes import negotiated_terms_drop, subscription_switch_to_free
from billing_portal.subscriptions.services.credits import after_plan_change
from billing_portal.subscriptions.services.limits import plan_limits_apply
from billing_portal.subscriptions.services.proration import subscription_recurring_lines
from billing_portal.subscriptions.services.seats import (
    seat_proration_lines,
    seats_mark_settled,
    seats_pending,
    subscriptions_for_update,
)
from billing_portal.subscriptions.services.start import collect_and_sync, subscription_start_paid_cycle
from invoices.models import Invoice, InvoiceKind
from invoices.services import invoice_issue

if TYPE_CHECKING:
    from accounts.models import Organization


def job_claim(*, job: str, org: Organization, key: str) -> bool:
    """Record that `job` ran for this org and key; False when it already had (the caller then does nothing)."""
    try:
        with transaction.atomic():
            JobRun.objects.create(job=job, org=org, period_key=key, ran_at=clock.now(org=org))
    except IntegrityError:
        return False
    return True


def subscription_end_trial(*, subscription_id: int, actor: Actor) -> str:
    with transaction.atomic():
        subscription = subscriptions_for_update().get(pk=subscription_id)
        org = subscription.org
        if subscription.status != Status.TRIALING or subscription.trial_end is None:
            return "not trialing"
        if subscription.trial_end > clock.now(org=org):
            return "not due"
        if not job_claim(job="trial_expiry", org=org, key=subscription.trial_end.isoformat()):
            return "already done"
        if subscription.cancel_at_period_end:
            subscription_switch_to_free(subscription=subscription, actor=actor, reason="Trial ended after cancel")
            return "moved to free"
        if payment_method_default(org) is None:
            subscription.status = Status.PAUSED
            subscription.save(update_fields=["status", "updated_at"])
            audit_record(org=org, actor=actor, action="subscription.status_changed", target=subscription,
                         before={"status": Status.TRIALING}, after={"status": Status.PAUSED},
                         reason="Trial ended without a payment method")
            notify_owner(org, "trial_ended", subscription=subscription)
            return "paused"
        audit_record(org=org, actor=actor, action="subscription.status_changed", target=subscription,
                     before={"status": Status.TRIALING}, after={"status": Status.ACTIVE}, reason="Trial converted")
        subscription_start_paid_cycle(subscription, at=subscription.trial_end, actor=actor, on_session=False)
        return "converted"


def subscription_trial_will_end_notify(*, subscription_id: int, actor: Actor) -> str:
    with transaction.atomic():
        subscription = subscriptions_for_update().get(pk=subscription_id)
        if subscription.status != Status.TRIALING or subscription.trial_end is None:
            return "not trialing"
        if subscription.trial_end <= clock.now(org=subscription.org):
            return "not due"  # the trial already ended (the job ran late): trial_expiry tells the owner
        if not job_claim(job="trial_will_end", org=subscription.org, key=subscription.trial_end.isoformat()):
            return "already sent"
        has_card = payment_method_default(subscription.org) is not None
        notify_owner(subscription.org, "trial_will_end", subscription=subscription, has_card=has_card)
        return "sent"


def subscription_resume_with_payment(*, org_id: int, actor: Actor) -> Invoice | None:
    """A paused org (trial ended without a card) added a card: start paying now, with the owner present."""
    with transaction.atomic():
        subscription = subscriptions_for_update().get(org_id=org_id)
        if subscription.status != Status.PAUSED or payment_method_default(subscription.org) is None:
            return None
        audit_record(org=subscription.org, actor=actor, action="subscription.status_changed", target=subscription,
                     before={"status": Status.PAUSED}, after={"status": Status.ACTIVE}, reason="Payment method added")
        now = clock.now(org=subscription.org)
        return subscription_start_paid_cycle(subscription, at=now, actor=actor, on_session=True)


def subscription_renew(*, subscription_id: int, actor: Actor) -> str:
    """Close the period that ended: apply a scheduled change or cancellation, start the next period, bill it."""
    with transaction.atomic():
        subscription = subscriptions_for_update().get(pk=subscription_id)
        org = subscription.org
        if subscription.status not in (Status.ACTIVE, Status.PAST_DUE):
            return "not renewing"
        ended_at = subscription.current_period_end
        if ended_at > clock.now(org=org):
            return "not due"
        if not job_claim(job="renewal", org=org, key=ended_at.isoformat()):
            return "already done"
        pending = seats_pending(subscription)
        seat_lines = seat_proration_lines(pending, org.tz)  # priced as they were, before any plan change
        outcome = "renewed"
        scheduled_plan = subscription.scheduled_plan
        if subscription.cancel_at_period_end or (
            scheduled_plan is not None and plan_is_free(scheduled_plan, subscription.currency)
        ):
            subscription_switch_to_free(subscription=subscription, actor=actor, reason="Canceled at period end")
            outcome = "moved to free"
        elif scheduled_plan is not None:
            before = {"plan": subscription.plan.code, "interval": subscription.interval}
            if scheduled_plan != subscription.plan:
                negotiated_terms_drop(subscription)
            if subscription.scheduled_interval != subscription.interval:  # a new interval, a new anchor
                subscription.billing_anchor = ended_at
            subscription.plan, subscription.interval = scheduled_plan, subscription.scheduled_interval
            subscription.scheduled_plan, subscription.scheduled_interval = None, ""
            outcome = "downgraded"
            audit_record(org=org, actor=actor, action="subscription.plan_changed", target=subscription, before=before,
                         after={"plan": scheduled_plan.code, "interval": subscription.interval},
                         reason="Scheduled change at period end")
        if outcome != "moved to free":
            period = period_containing(subscription.billing_anchor, subscription.interval, org.tz, ended_at)
            subscription.current_period_start, subscription.current_period_end = period.start, period.end
            subscription.save()
            if outcome == "downgraded":
                plan_limits_apply(org=org, plan=subscription.plan, actor=actor)
                after_plan_change(org=org, actor=actor)  # the period end is a window boundary
        period_lines = subscription_recurring_lines(subscription, subscription.period) if subscription.is_paid else []
        lines = period_lines + seat_lines
        invoice = None
        if lines:
            invoice = invoice_issue(org=org, kind=InvoiceKind.RENEWAL, currency=subscription.currency, lines=lines,
                                    period=subscription.period, actor=actor, subscription=subscription)
            seats_mark_settled(pending, invoice)
        collect_and_sync(invoice, subscription, actor, on_session=False)
        return outcome

