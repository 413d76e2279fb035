"""Slow Stripe work that webhook handlers queue once their transaction commits."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Organization
from billing_portal.audit.services import Actor
from billing_portal.payments.providers.base import ProviderUnavailable
from billing_portal.payments.stripe_customers import payment_method_adopt


@shared_task(acks_late=True, autoretry_for=(ProviderUnavailable,), retry_backoff=True, max_retries=8)
def stripe_payment_method_adopt(org_id: int, payment_method_id: str) -> None:
    org = Organization.objects.filter(pk=org_id).first()
    if org is not None:
        payment_method_adopt(
            org=org, payment_method_id=payment_method_id, actor=Actor.system("stripe_payment_method_adopt")
        )


@shared_task(acks_late=True, autoretry_for=(ProviderUnavailable,), retry_backoff=True, max_retries=8)
def stripe_invoice_lines_complete(stripe_invoice_id: str) -> None:
    # Imported here: the invoice sync queues this task, so it imports this module.
    from billing_portal.payments.stripe_invoice_sync import invoice_lines_complete

    invoice_lines_complete(stripe_invoice_id=stripe_invoice_id)
