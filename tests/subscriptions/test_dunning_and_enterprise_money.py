"""Dunning that cannot be escaped or misapplied: Enterprise invoices are chased, own attempts use up no retry."""

from datetime import UTC, datetime, timedelta

import pytest

from billing_portal.core.money import Money
from billing_portal.payments.models import TestCard
from billing_portal.payments.services import payment_method_add_test_card
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.services.changes import subscription_assign_enterprise
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from tests.factories import make_org
from tests.subscriptions.helpers import ACTOR, advance

pytestmark = pytest.mark.django_db

JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
MID = datetime(2026, 1, 20, 12, tzinfo=UTC)


def test_unpaid_enterprise_invoice_makes_the_org_past_due_and_finally_moves_it_to_free():
    """README: a failed payment makes the org past due while retrying; when retries run out the invoice is
    uncollectible and the org moves to Free. Enterprise's first invoice is billed as kind=upgrade, which the
    payment-state sync and dunning ignore: the org keeps Enterprise for free."""
    org = advance(make_org(plan="pro", clock_at=JAN10), MID)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    invoice = subscription_assign_enterprise(
        org=org, interval="month", base_price=Money(99_000, "USD"), seat_price=Money(0, "USD"), quotas={},
        actor=ACTOR,
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAST_DUE
    org.subscription.refresh_from_db()
    past_due_now = org.subscription.status
    for day in (1, 4, 9):
        org = advance(org, MID + timedelta(days=day))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.UNCOLLECTIBLE
    assert (past_due_now, org.subscription.plan.code) == (Status.PAST_DUE, "free")


def test_a_trial_canceled_before_it_ends_shows_no_next_charge():
    """A trialing org that cancels moves to Free when the trial ends (nothing is charged), yet next_charge
    (Overview's "Next billing date" and the API's next_charge) still announces the plan's full price."""
    from billing_portal.subscriptions.selectors import next_charge
    from billing_portal.subscriptions.services.changes import subscription_cancel
    from tests.subscriptions.helpers import owner

    org = make_org(plan="pro", trial=True, clock_at=JAN10, card=TestCard.SUCCEEDS)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    org.subscription.refresh_from_db()
    assert org.subscription.cancel_at_period_end
    announced = next_charge(org.subscription)
    org = advance(org, JAN10 + timedelta(days=15))
    assert org.subscription.plan.code == "free"
    assert not Invoice.objects.filter(org=org).exclude(total=0).exists()  # nothing was charged
    assert announced is None, announced


FEB10 = datetime(2026, 2, 10, tzinfo=UTC)


def test_failed_pay_now_clicks_do_not_let_a_past_due_invoice_escape_dunning(client):
    """Each failed "Pay now" is recorded as an attempt and takes a retry slot; after the third one
    next_payment_attempt_at is None while the invoice is still past due. The retry job only selects invoices
    with a due next_payment_attempt_at, so nothing ever marks it uncollectible: the org stays past due (with
    full service) forever instead of moving to Free."""
    from django.urls import reverse

    from tests.subscriptions.helpers import owner

    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    org = advance(org, FEB10)
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert renewal.status == InvoiceStatus.PAST_DUE
    client.force_login(owner(org).user)
    for _ in range(3):  # the owner tries the same card again from the Invoices page
        client.post(reverse("portal:invoice-pay", args=[renewal.pk]))
    org = advance(org, FEB10 + timedelta(days=20))
    renewal.refresh_from_db()
    assert (renewal.status, renewal.next_payment_attempt_at) != (InvoiceStatus.PAST_DUE, None)
    assert renewal.status == InvoiceStatus.UNCOLLECTIBLE
    assert org.subscription.plan.code == "free"
