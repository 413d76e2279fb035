"""How the lifecycle services hand over to Stripe when Stripe bills the subscription."""

from datetime import timedelta

import pytest

from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Plan
from billing_portal.core import clock
from billing_portal.payments.models import Charge
from billing_portal.payments.services import invoice_collect
from billing_portal.subscriptions.jobs import run_job
from billing_portal.subscriptions.models import Subscription
from billing_portal.subscriptions.services.changes import subscription_preview_change
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from tests.factories import add_member
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def billed_by_stripe(org):
    """As the checkout webhook leaves it: Team, billed by Stripe's sub_acme."""
    Subscription.objects.filter(org=org).update(stripe_subscription_id="sub_acme", plan=Plan.objects.get(code="team"))
    org.subscription.refresh_from_db()


def test_a_member_joining_sets_the_stripe_seat_quantity_after_commit(fake_stripe, team, org,
                                                                       django_capture_on_commit_callbacks):
    billed_by_stripe(org)
    with django_capture_on_commit_callbacks(execute=True):
        add_member(org)
    [call] = fake_stripe.calls("POST", "/v1/subscription_items/si_sub_acme_1")
    assert call.params == {"quantity": "2", "proration_behavior": "create_prorations"}
    assert call.idempotency_key.startswith("seats:")


def test_local_jobs_leave_stripe_billed_subscriptions_to_stripe(fake_stripe, team, org):
    billed_by_stripe(org)
    now = clock.now()
    Subscription.objects.filter(org=org).update(current_period_start=now - timedelta(days=31),
                                                current_period_end=now - timedelta(minutes=1))
    assert run_job("renewal").processed == 0
    assert not Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).exists()


def test_paying_a_mirrored_invoice_pays_it_at_stripe_and_waits_for_the_webhook(fake_stripe, org):
    fake_stripe.put({"id": "in_open", "object": "invoice", "status": "open"})
    now = clock.now()
    mirror = Invoice.objects.create(org=org, kind=InvoiceKind.STRIPE, number="ST-0001", stripe_invoice_id="in_open",
                                    status=InvoiceStatus.OPEN, currency="USD", period_start=now, period_end=now,
                                    created_at=now, issued_at=now, subtotal=4_900, total=4_900)
    result = invoice_collect(invoice=mirror, actor=ACTOR, on_session=True)
    [call] = fake_stripe.calls("POST", "/v1/invoices/in_open/pay")
    assert call.params == {"off_session": "false"} and result.succeeded
    mirror.refresh_from_db()
    assert mirror.status == InvoiceStatus.OPEN and not Charge.objects.exists()  # the webhook moves it


def test_a_stripe_preview_is_not_taxed_twice(fake_stripe, team, org):
    org.country = "DE"  # 19% VAT locally; Stripe's quote already includes any tax
    org.save()
    billed_by_stripe(org)
    fake_stripe.preview = {"object": "invoice", "currency": "usd", "total": 5_000, "amount_due": 5_000,
                           "total_taxes": [], "lines": {"object": "list", "data": [
                               {"description": "Remaining time on Business", "amount": 5_000,
                                "period": {"start": 1, "end": 2}}]}}
    preview = subscription_preview_change(org=org, plan=Plan.objects.get(code="business"), interval="month",
                                          by=owner(org))
    assert (preview.subtotal.amount, preview.tax.amount, preview.amount_due.amount) == (5_000, 0, 5_000)
