"""Past-due invoices: retries on a schedule, recovery by a new card, and what happens when retries run out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from billing_portal.audit.services import Actor
from billing_portal.core import clock
from billing_portal.payments.services import invoice_collect
from billing_portal.subscriptions.notifications import notify_owner
from billing_portal.subscriptions.services.changes import subscription_switch_to_free
from billing_portal.subscriptions.services.payment_state import (
    SUBSCRIPTION_INVOICE_KINDS,
    past_due_invoices,
    subscription_sync_payment_state,
)
from billing_portal.subscriptions.services.renewal import job_claim, subscription_resume_with_payment
from billing_portal.subscriptions.services.seats import subscription_locked
from invoices.models import Invoice, InvoiceStatus
from invoices.services import invoice_mark_uncollectible, invoice_void

if TYPE_CHECKING:
    from accounts.models import Organization


def invoice_retry_payment(*, invoice_id: int, actor: Actor) -> str:
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("org").get(pk=invoice_id)
        org = invoice.org
        due_at = invoice.next_payment_attempt_at
        if invoice.status != InvoiceStatus.PAST_DUE or due_at is None or due_at > clock.now(org=org):
            return "not due"
        if not job_claim(job="payment_retry", org=org, key=f"{invoice.pk}:{invoice.attempt_count}"):
            return "already done"
        result = invoice_collect(invoice=invoice, actor=actor)
        invoice.refresh_from_db()
        if result.succeeded:
            subscription_sync_payment_state(org=org, actor=actor)
            return "paid"
        if invoice.next_payment_attempt_at is None:
            _retries_exhausted(invoice, actor)
            return "retries exhausted"
        notify_owner(org, "payment_failed", invoice=invoice, reason=result.failure_message)
        return "failed"


def _retries_exhausted(invoice: Invoice, actor: Actor) -> None:
    """The last retry failed: the invoice is written off, and the org moves to Free (its data is kept) if the
    invoice was for the period it is in: one for a period since replaced (an upgrade paid since, a later renewal)
    takes nothing away from what was paid."""
    invoice_mark_uncollectible(invoice=invoice, actor=actor, reason="Every payment retry failed")
    if invoice.kind in SUBSCRIPTION_INVOICE_KINDS:
        subscription = subscription_locked(invoice.org)
        if (invoice.period_start, invoice.period_end) != (subscription.current_period_start,
                                                          subscription.current_period_end):
            subscription_sync_payment_state(org=invoice.org, actor=actor)
        elif subscription_switch_to_free(subscription=subscription, actor=actor, reason="Unpaid after every retry"):
            notify_owner(invoice.org, "moved_to_free_unpaid", invoice=invoice)


def subscription_payment_method_added(*, org: Organization, actor: Actor) -> None:
    """A new card settles what is past due right away (the owner is present) and resumes a paused org."""
    for invoice in past_due_invoices(org):
        invoice_collect(invoice=invoice, actor=actor, on_session=True)
    subscription_sync_payment_state(org=org, actor=actor)
    subscription_resume_with_payment(org_id=org.pk, actor=actor)


def invoice_void_unpaid(*, invoice: Invoice, actor: Actor, reason: str) -> Invoice:
    """Staff void an unpaid invoice: nothing more is collected, and a subscription that was past due for it alone
    is in good standing again."""
    with transaction.atomic():
        invoice = invoice_void(invoice=invoice, actor=actor, reason=reason)
        subscription_sync_payment_state(org=invoice.org, actor=actor)
    return invoice
