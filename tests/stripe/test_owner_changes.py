"""What the owner's changes send Stripe: a key per change of state, nothing beyond the confirmed price, an
upgrade that keeps a canceling subscription, and top-ups charged to the saved card."""

import pytest

from accounts.models import Organization
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Plan
from billing_portal.core.errors import Conflict
from billing_portal.core.money import Money
from billing_portal.payments.models import Charge
from billing_portal.payments.refunds import charge_refund
from billing_portal.payments.stripe_customers import payment_method_adopt
from billing_portal.subscriptions.models import Subscription
from billing_portal.subscriptions.services.changes import (
    subscription_cancel,
    subscription_change_plan,
    subscription_preview_change,
    subscription_undo_scheduled_change,
)
from metering.models import TopupPack
from metering.selectors import credit_balance
from metering.services import credits_topup_purchase
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
SUBSCRIPTION = "/v1/subscriptions/sub_acme"


@pytest.fixture
def billed(fake_stripe, team, org):
    """Acme on Team, billed by Stripe's subscription sub_acme."""
    Subscription.objects.filter(org=org).update(stripe_subscription_id="sub_acme", plan=Plan.objects.get(code="team"))
    org.subscription.refresh_from_db()
    return org


def preview_total(fake_stripe, total):
    line = {"description": "Remaining time on Business", "amount": total, "period": {"start": 1, "end": 2}}
    fake_stripe.preview = {"object": "invoice", "currency": "usd", "total": total, "amount_due": total,
                           "total_taxes": [], "lines": {"object": "list", "data": [line]}}  # fmt: skip


def upgrade(org, expected=None):
    business = Plan.objects.get(code="business")
    preview = subscription_preview_change(org=org, plan=business, interval="month", by=owner(org))
    return subscription_change_plan(org=org, plan=business, interval="month", by=owner(org), actor=ACTOR,
                                    proration_at=preview.proration_at,
                                    expected_amount=expected or preview.amount_due)  # fmt: skip


def test_cancel_undo_cancel_sends_stripe_a_new_key_for_each_change(fake_stripe, billed):
    subscription_cancel(org=billed, by=owner(billed), actor=ACTOR)
    subscription_undo_scheduled_change(org=billed, by=owner(billed), actor=ACTOR)
    subscription_cancel(org=billed, by=owner(billed), actor=ACTOR)
    calls = fake_stripe.calls("POST", SUBSCRIPTION)
    assert [call.params["cancel_at_period_end"] for call in calls] == ["true", "false", "true"]
    assert len({call.idempotency_key for call in calls}) == 3  # Stripe would replay a reused key, applying nothing


def test_an_upgrade_whose_stripe_price_moved_since_the_preview_sends_nothing(fake_stripe, billed):
    preview_total(fake_stripe, 4_356)
    business = Plan.objects.get(code="business")
    preview = subscription_preview_change(org=billed, plan=business, interval="month", by=owner(billed))
    assert preview.amount_due == Money(4_356, "USD")
    preview_total(fake_stripe, 5_556)  # a seat was added meanwhile, say
    with pytest.raises(Conflict) as refused:
        subscription_change_plan(org=billed, plan=business, interval="month", by=owner(billed), actor=ACTOR,
                                 proration_at=preview.proration_at, expected_amount=preview.amount_due)  # fmt: skip
    assert refused.value.code == "price_changed"
    assert fake_stripe.calls("POST", SUBSCRIPTION) == []


def test_an_upgrade_while_canceling_keeps_the_subscription(fake_stripe, billed):
    subscription_cancel(org=billed, by=owner(billed), actor=ACTOR)
    upgrade(billed)
    update = fake_stripe.calls("POST", SUBSCRIPTION)[-1]
    assert any(key.startswith("items") for key in update.params)  # the upgrade itself
    assert update.params["cancel_at_period_end"] == "false"


def test_an_owner_with_a_stripe_card_buys_a_top_up_and_staff_can_refund_it(fake_stripe, team, org):
    customer = team()["customer"]
    fake_stripe.put({"id": "pm_card", "object": "payment_method", "type": "card", "customer": customer,
                     "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2031},
                     "livemode": False, "created": 1, "metadata": {}, "billing_details": {}})  # fmt: skip
    payment_method_adopt(org=org, payment_method_id="pm_card", actor=ACTOR)
    pack = TopupPack.objects.get(code="credits-1k")
    invoice = credits_topup_purchase(org=Organization.objects.get(pk=org.pk), pack=pack, by=owner(org), actor=ACTOR)
    assert invoice.status == "paid" and credit_balance(org=org).topups == 1_000
    [intent] = fake_stripe.calls("POST", "/v1/payment_intents")
    assert (intent.params["customer"], intent.params["payment_method"], intent.params["amount"]) == (
        customer, "pm_card", str(invoice.total))
    charge = Charge.objects.get(invoice=invoice)
    assert charge.provider == "stripe"
    assert fake_stripe.objects[charge.provider_reference]["object"] == "payment_intent"  # refunds name it
    charge_refund(charge=charge, amount=Money(invoice.total, "USD"), reason="Bought by mistake", actor=ACTOR,
                  idempotency_key="refund:topup")  # fmt: skip
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["payment_intent"] == charge.provider_reference
