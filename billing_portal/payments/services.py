"""Payment methods and collecting invoices through the configured provider."""

from __future__ import annotations

import uuid

from django.db import transaction

from accounts.models import Organization
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import InvalidInput
from billing_portal.payments.models import Charge, ChargeStatus, MethodKind, PaymentMethod, TestCard
from billing_portal.payments.providers import get_provider
from billing_portal.payments.providers.base import ChargeRequest, ChargeResult, CustomerUpdate, PaymentMethodRef
from invoices.models import UNPAID_STATUSES, Invoice
from invoices.services import invoice_record_failure, invoice_record_payment

TEST_CARD_LAST4 = {TestCard.SUCCEEDS: "4242", TestCard.DECLINES: "0002", TestCard.NEEDS_ATTENTION: "3155"}


def customer_details(org: Organization) -> CustomerUpdate:
    return CustomerUpdate(org_id=org.pk, name=org.name, email=org.billing_email, tax_id=org.tax_id,
                          address=org.billing_address, country=org.country)


def customer_push(org: Organization) -> None:
    """Give the provider the org's current billing details (Stripe keeps its customer in step; local: nothing)."""
    get_provider().update_customer(customer_details(org))


def payment_method_default(org: Organization) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(org=org, is_default=True, detached_at__isnull=True).first()


def payment_method_add_test_card(*, org: Organization, card: str, actor: Actor) -> PaymentMethod:
    """Attach one of the local provider's test cards as the org's default payment method."""
    if card not in TestCard.values:
        raise InvalidInput("Choose one of the test cards.", fields={"card": ["Choose one of the test cards."]})
    method = PaymentMethod(
        provider="local",
        kind=MethodKind.CARD,
        brand="Visa",
        last4=TEST_CARD_LAST4[TestCard(card)],
        exp_month=12,
        exp_year=clock.now(org=org).year + 3,
        test_card=card,
    )
    return payment_method_make_default(org=org, method=method, actor=actor)


def payment_method_make_default(*, org: Organization, method: PaymentMethod, actor: Actor) -> PaymentMethod:
    """Save a new `method` as the org's default; the one it replaces stays on file (charges refer to it).

    A provider's payment method that is the default already stays as it is (adopting the same card twice)."""
    with transaction.atomic():
        # One change of default per org at a time: two workers adopting the same card would both find it new.
        Organization.objects.select_for_update(no_key=True).only("pk").get(pk=org.pk)
        previous = payment_method_default(org)
        provider_id = method.stripe_payment_method_id
        if previous is not None and provider_id and previous.stripe_payment_method_id == provider_id:
            return previous
        PaymentMethod.objects.filter(org=org, is_default=True).update(is_default=False)
        method.org, method.is_default, method.created_at = org, True, clock.now(org=org)
        method.save()
        audit_record(org=org, actor=actor, action="payment_method.changed", target=method,
                     before={"method": str(previous) if previous else None}, after={"method": str(method)})
    return method


def invoice_collect(*, invoice: Invoice, actor: Actor, on_session: bool = False) -> ChargeResult:
    """Charge the org's default payment method for what the invoice still owes; records the attempt either way.

    A Stripe invoice is paid at Stripe; its mirror here changes when Stripe's webhook says so.
    """
    provider = get_provider()
    if invoice.stripe_invoice_id:
        return provider.charge(ChargeRequest(
            org_id=invoice.org_id, amount=invoice.amount_due, description=f"Invoice {invoice.number}",
            # One key per attempt: Stripe counts only its own retries, so a count would repeat the owner's
            # second "pay now" (with a new card) and Stripe would answer it with the first one's decline.
            idempotency_key=f"stripe-invoice:{invoice.stripe_invoice_id}:{uuid.uuid4().hex}",
            payment_method=PaymentMethodRef(), on_session=on_session, invoice_reference=invoice.stripe_invoice_id,
        ))
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("org").get(pk=invoice.pk)
        if invoice.status not in UNPAID_STATUSES:
            return ChargeResult(succeeded=invoice.amount_due.amount == 0, failure_code="not_payable")
        org = invoice.org
        method = payment_method_default(org)
        amount = invoice.amount_due
        key = f"invoice:{invoice.pk}:attempt:{invoice.charges.count() + 1}"
        if method is None:
            result = ChargeResult(succeeded=False, failure_code="no_payment_method",
                                  failure_message="There is no payment method on file.")
        else:
            result = provider.charge(
                ChargeRequest(
                    org_id=org.pk,
                    amount=amount,
                    description=f"Invoice {invoice.number}",
                    idempotency_key=key,
                    payment_method=PaymentMethodRef(
                        test_card=method.test_card, stripe_payment_method_id=method.stripe_payment_method_id
                    ),
                    on_session=on_session,
                )
            )
        Charge.objects.create(
            org=org,
            invoice=invoice,
            payment_method=method,
            amount=amount.amount,
            currency=amount.currency,
            status=ChargeStatus.SUCCEEDED if result.succeeded else ChargeStatus.FAILED,
            failure_code=result.failure_code,
            failure_message=result.failure_message,
            provider=provider.name,
            provider_reference=result.reference,
            idempotency_key=key,
            on_session=on_session,
            created_at=clock.now(org=org),
        )
        if result.succeeded:
            invoice_record_payment(invoice=invoice, amount=amount, actor=actor, reference=result.reference)
        else:
            invoice_record_failure(invoice=invoice, actor=actor, code=result.failure_code,
                                   message=result.failure_message, on_session=on_session)
    return result

