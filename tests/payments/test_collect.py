from datetime import UTC, datetime, timedelta

import pytest

from billing_portal.audit.services import Actor
from billing_portal.core.errors import InvalidInput
from billing_portal.core.money import Money
from billing_portal.payments.models import Charge, PaymentMethod, TestCard
from billing_portal.payments.services import invoice_collect, payment_method_add_test_card, payment_method_default
from billing_portal.subscriptions.periods import Period
from invoices.models import InvoiceStatus, LineKind
from invoices.services import LineSpec, invoice_issue
from tests.factories import make_org

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def open_invoice(org, amount=4_900):
    return invoice_issue(
        org=org, kind="manual", currency="USD", lines=[LineSpec(LineKind.PLAN, "Plan", Money(amount, "USD"))],
        period=Period(NOW, NOW + timedelta(days=30)), actor=ACTOR,
    )


@pytest.mark.parametrize(
    ("card", "on_session", "paid", "code"),
    [
        (TestCard.SUCCEEDS, False, True, ""),
        (TestCard.DECLINES, True, False, "card_declined"),
        (TestCard.NEEDS_ATTENTION, False, False, "authentication_required"),
        (TestCard.NEEDS_ATTENTION, True, True, ""),
    ],
)
def test_test_cards_decide_the_outcome(card, on_session, paid, code):
    org = make_org(clock_at=NOW)
    payment_method_add_test_card(org=org, card=card, actor=ACTOR)
    invoice = open_invoice(org)
    result = invoice_collect(invoice=invoice, actor=ACTOR, on_session=on_session)
    invoice.refresh_from_db()
    assert result.succeeded is paid and result.failure_code == code
    assert invoice.status == (InvoiceStatus.PAID if paid else InvoiceStatus.PAST_DUE)
    charge = Charge.objects.get(invoice=invoice)
    assert (charge.amount, charge.status) == (4_900, "succeeded" if paid else "failed")


def test_no_card_fails_cleanly_and_a_paid_invoice_is_not_charged_again():
    org = make_org(clock_at=NOW)
    invoice = open_invoice(org)
    assert invoice_collect(invoice=invoice, actor=ACTOR).failure_code == "no_payment_method"
    payment_method_add_test_card(org=org, card=TestCard.SUCCEEDS, actor=ACTOR)
    assert invoice_collect(invoice=invoice, actor=ACTOR).succeeded
    assert invoice_collect(invoice=invoice, actor=ACTOR).failure_code == "not_payable"
    assert list(Charge.objects.filter(invoice=invoice).values_list("status", flat=True)) == ["succeeded", "failed"]
    assert Charge.objects.filter(invoice=invoice, status="succeeded").count() == 1


def test_one_default_card_and_no_free_form_numbers():
    org = make_org(clock_at=NOW)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    payment_method_add_test_card(org=org, card=TestCard.SUCCEEDS, actor=ACTOR)
    assert payment_method_default(org).last4 == "4242"
    assert PaymentMethod.objects.filter(org=org, is_default=True).count() == 1
    with pytest.raises(InvalidInput):
        payment_method_add_test_card(org=org, card="4242424242424242", actor=ACTOR)
