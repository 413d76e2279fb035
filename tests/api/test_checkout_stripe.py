"""Stripe mode: a first paid subscription opens Stripe Checkout; later changes wait for the owner's say."""

import pytest
from django.urls import reverse

from billing_portal.catalog.models import Plan
from billing_portal.subscriptions.models import Subscription
from tests.api.helpers import key_client

pytestmark = pytest.mark.django_db
URLS = {"success_url": "https://app.example.com/done", "cancel_url": "https://app.example.com/plans"}


def checkout(customer, tier):
    body = {"tier": tier, "billing_interval": "month", **URLS}
    return key_client(customer, "billing:write").post(reverse("api-checkout"), body, format="json")


def test_an_upgrade_from_free_opens_stripe_checkout_back_to_the_callers_urls(fake_stripe, catalog, org):
    response = checkout(org, "team")
    assert response.status_code == 200
    [session] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert response.json()["url"].startswith("https://checkout.stripe.test/")
    assert {name: session.params[name] for name in URLS} == URLS
    org.subscription.refresh_from_db()
    assert org.subscription.plan.code == "free"


def test_an_upgrade_of_a_stripe_billed_subscription_waits_for_the_owner(fake_stripe, team, org):
    billed_by_stripe = {"stripe_subscription_id": "sub_acme", "plan": Plan.objects.get(code="team")}
    Subscription.objects.filter(org=org).update(**billed_by_stripe)
    writes_before = len(fake_stripe.writes())
    response = checkout(org, "business")
    assert response.status_code == 200
    assert response.json() == {"url": "http://testserver/billing/plans/change/?plan=business&interval=month"}
    # Stripe was only asked what the change would cost; nothing was charged or changed there.
    assert [write.path for write in fake_stripe.writes()[writes_before:]] == ["/v1/invoices/create_preview"]
