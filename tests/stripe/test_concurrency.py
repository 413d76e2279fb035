"""Concurrent deliveries (Stripe retries while the first attempt is still running) apply each event once."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from billing_portal.audit.models import AuditEntry
from billing_portal.payments.models import PaymentMethod, StripeEventReceipt
from billing_portal.payments.stripe_customers import stripe_customer_ensure
from billing_portal.payments.tasks import stripe_payment_method_adopt
from invoices.models import Invoice, InvoiceEvent
from tests.concurrency import run_concurrently
from tests.factories import make_org
from tests.stripe.builders import PERIOD_START, event, invoice, line, signature, webhook_endpoint

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_deliveries_mirror_one_invoice_once(fake_stripe):
    call_command("sync_stripe_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115
    endpoint = webhook_endpoint()
    org = make_org(name="Acme")
    customer = stripe_customer_ensure(org)
    price = next(o for o in fake_stripe.objects.values() if o.get("lookup_key") == "bp:team:base:month:usd")
    fake_stripe.put(
        invoice(
            invoice_id="in_race",
            customer=customer,
            sub_id="sub_race",
            status="open",
            number="RACE-1",
            lines=[line(price=price, amount=4_900, quantity=1, description="Team")],
        )
    )
    same = event(
        "invoice.finalized", fake_stripe.objects["in_race"], created=PERIOD_START, event_id="evt_same"
    )
    others = [
        event("invoice.updated", fake_stripe.objects["in_race"], created=PERIOD_START + n) for n in range(4)
    ]
    deliveries = [same] * 4 + others

    def post(index: int) -> int:
        payload = json.dumps(deliveries[index])
        return (
            Client()
            .post(
                f"/stripe/webhook/{endpoint.djstripe_uuid}/",
                data=payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature(payload),
            )
            .status_code
        )

    results = run_concurrently(post, len(deliveries))
    assert results == [200] * len(deliveries), results
    mirror = Invoice.objects.get(stripe_invoice_id="in_race")
    assert (mirror.status, mirror.lines.count()) == ("open", 1)
    assert list(InvoiceEvent.objects.filter(invoice=mirror).values_list("kind", flat=True)) == [
        "created",
        "finalized",
    ]
    assert StripeEventReceipt.objects.filter(stripe_object_id="in_race").count() == 5


def test_the_same_card_adopted_by_several_workers_at_once_is_saved_once(fake_stripe):
    org = make_org(name="Acme")
    customer = stripe_customer_ensure(org)
    fake_stripe.put(
        {
            "id": "pm_race",
            "object": "payment_method",
            "type": "card",
            "customer": customer,
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2031},
            "livemode": False,
            "created": PERIOD_START,
            "metadata": {},
            "billing_details": {},
        }
    )
    results = run_concurrently(lambda n: stripe_payment_method_adopt(org.pk, "pm_race"), 6)
    assert not [r for r in results if isinstance(r, BaseException)], results
    saved = PaymentMethod.objects.get(org=org)  # one row, whoever won
    assert (saved.is_default, saved.stripe_payment_method_id, saved.last4) == (True, "pm_race", "4242")
    assert AuditEntry.objects.filter(org=org, action="payment_method.changed").count() == 1
