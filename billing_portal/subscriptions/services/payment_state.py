"""Keeping the subscription's status in step with its invoices: past due while one is unpaid, active after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.selectors import plan_is_free
from billing_portal.core import clock
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.services.seats import subscription_locked
from invoices.models import Invoice, InvoiceKind, InvoiceStatus

if TYPE_CHECKING:
    from accounts.models import Organization

# The subscription's own invoices (an upgrade's is voided when declined; Enterprise's is dunned like a renewal).
SUBSCRIPTION_INVOICE_KINDS = (InvoiceKind.SUBSCRIPTION_START, InvoiceKind.RENEWAL, InvoiceKind.UPGRADE)


def past_due_invoices(org: Organization) -> list[Invoice]:
    return list(Invoice.objects.filter(org=org, status=InvoiceStatus.PAST_DUE, kind__in=SUBSCRIPTION_INVOICE_KINDS))


def subscription_sync_payment_state(*, org: Organization, actor: Actor) -> str:
    """Past due while a subscription invoice is past due; active again once none is. Returns the status."""
    with transaction.atomic():
        subscription = subscription_locked(org)
        # Free has nothing to suspend: a last invoice of the paid plan left unpaid is dunned, the org not.
        owing = bool(past_due_invoices(org)) and not plan_is_free(subscription.plan, subscription.currency)
        before = subscription.status
        if owing and before == Status.ACTIVE:
            subscription.status, subscription.past_due_since = Status.PAST_DUE, clock.now(org=org)
        elif not owing and before == Status.PAST_DUE:
            subscription.status, subscription.past_due_since = Status.ACTIVE, None
        if subscription.status != before:
            subscription.save(update_fields=["status", "past_due_since", "updated_at"])
            audit_record(org=org, actor=actor, action="subscription.status_changed", target=subscription,
                         before={"status": before}, after={"status": subscription.status})
    return subscription.status
