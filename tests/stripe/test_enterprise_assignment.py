"""Enterprise is billed by the portal: an org whose subscription Stripe bills cannot be put on it beside that."""

import pytest

from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Plan
from billing_portal.core.errors import Conflict
from billing_portal.core.money import Money
from billing_portal.subscriptions.models import Subscription
from billing_portal.subscriptions.services.changes import subscription_assign_enterprise
from invoices.models import Invoice

pytestmark = pytest.mark.django_db


def test_assigning_enterprise_to_a_stripe_billed_org_is_refused_and_charges_nothing(fake_stripe, org):
    Subscription.objects.filter(org=org).update(stripe_subscription_id="sub_acme", plan=Plan.objects.get(code="team"))
    org.refresh_from_db()
    with pytest.raises(Conflict, match="cancel it in Stripe first"):
        subscription_assign_enterprise(
            org=org, interval="month", base_price=Money(99_000, "USD"), seat_price=Money(0, "USD"), quotas={},
            actor=Actor.system("tests"),
        )
    subscription = Subscription.objects.get(org=org)
    assert (subscription.plan.code, subscription.custom_base_price) == ("team", None)
    assert not Invoice.objects.filter(org=org).exists() and not fake_stripe.writes()
