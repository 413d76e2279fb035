"""Refunds: money given back on a succeeded charge, through the provider that took it.

A charge's refunds never add up to more than it took; partial refunds are fine. The invoice the charge paid
keeps its amounts (finalized invoices never change): the refund is a row of its own, a step in the invoice's
history and an audit entry.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Sum

from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import Conflict, InvalidInput
from billing_portal.core.money import Money
from billing_portal.payments.models import Charge, ChargeStatus, Refund
from billing_portal.payments.providers import get_provider
from billing_portal.payments.providers.base import RefundRequest
from invoices.models import InvoiceEventKind
from invoices.services import invoice_event_record


def charge_refundable(charge: Charge) -> Money:
    """What is left to refund on a charge: what it took, less its refunds so far."""
    if charge.status != ChargeStatus.SUCCEEDED:
        return Money.zero(charge.currency)
    refunded = charge.refunds.aggregate(total=Sum("amount"))["total"] or 0
    return Money(charge.amount - refunded, charge.currency)


def charge_refund(
    *, charge: Charge, amount: Money, reason: str, actor: Actor, idempotency_key: str
) -> Refund:
    """Refund `amount` of `charge`. The same `idempotency_key` (one per confirmation form) refunds once."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give a reason for the refund.", fields={"reason": ["Required."]})
    with transaction.atomic():
        locked = Charge.objects.select_for_update(of=("self",)).select_related("org", "invoice")
        charge = locked.get(pk=charge.pk)
        done = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            if done.charge_id != charge.pk:
                raise Conflict("That refund key belongs to another payment.")
            return done
        if charge.status != ChargeStatus.SUCCEEDED:
            raise InvalidInput("Only a payment that went through can be refunded.", code="not_refundable")
        if amount.currency != charge.currency or amount.amount <= 0:
            raise InvalidInput(
                f"Refund a positive amount in {charge.currency}.", fields={"amount": ["Positive."]}
            )
        left = charge_refundable(charge)
        if left < amount:
            raise InvalidInput(
                f"At most {left.format()} is left to refund on this payment.",
                code="refund_too_large",
                fields={"amount": [f"At most {left.format()}."]},
            )
        provider = get_provider()
        if provider.name != charge.provider:
            raise InvalidInput(
                f"This payment went through {charge.provider}, not {provider.name}; refund it there.",
                code="other_provider",
            )
        result = provider.refund(
            RefundRequest(
                org_id=charge.org_id,
                charge_reference=charge.provider_reference,
                amount=amount,
                reason=reason,
                idempotency_key=idempotency_key,
            )
        )
        if not result.succeeded:
            raise Conflict(
                result.failure_message or "The refund was refused.", code=result.failure_code or "refused"
            )
        refund = Refund.objects.create(
            org=charge.org,
            charge=charge,
            invoice=charge.invoice,
            amount=amount.amount,
            currency=amount.currency,
            reason=reason,
            provider=provider.name,
            provider_reference=result.reference,
            idempotency_key=idempotency_key,
            refunded_by=actor.user,
            created_at=clock.now(org=charge.org),
        )
        if charge.invoice is not None:
            invoice_event_record(
                charge.invoice,
                InvoiceEventKind.REFUNDED,
                actor,
                amount=amount.amount,
                refund=refund.pk,
                reference=result.reference,
                reason=reason,
            )
        audit_record(
            org=charge.org,
            actor=actor,
            action="charge.refunded",
            target=charge,
            before={"refunded": charge.amount - left.amount},
            after={
                "refunded": charge.amount - left.amount + amount.amount,
                "refund": refund.pk,
                "invoice": charge.invoice.number if charge.invoice else None,
            },
            reason=reason,
        )
    return refund
