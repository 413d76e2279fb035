"""Races on PostgreSQL around one invoice: void against pay now ends one way or the other."""

import pytest

from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingError
from billing_portal.payments.models import Charge, ChargeStatus, TestCard
from billing_portal.payments.services import invoice_collect, payment_method_add_test_card
from invoices.models import Invoice, InvoiceStatus
from invoices.services import invoice_void
from tests.concurrency import run_concurrently
from tests.factories import issue_invoice, make_org

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ACTOR = Actor.system("tests")


def test_staff_voiding_an_invoice_while_the_owner_pays_it_ends_either_paid_or_void_never_both():
    for round_ in range(8):
        org = make_org(name=f"Round {round_}")
        payment_method_add_test_card(org=org, card=TestCard.SUCCEEDS, actor=ACTOR)
        invoice = issue_invoice(org)

        def act(index, invoice=invoice):
            if index == 0:
                return invoice_void(invoice=invoice, actor=ACTOR, reason="Issued twice")
            return invoice_collect(invoice=invoice, actor=ACTOR, on_session=True)

        results = run_concurrently(act, 2)
        assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, BillingError)]
        invoice.refresh_from_db()
        paid = Charge.objects.filter(invoice=invoice, status=ChargeStatus.SUCCEEDED).count()
        assert (invoice.status, paid) in {(InvoiceStatus.VOID, 0), (InvoiceStatus.PAID, 1)}, (invoice.status, paid)
        assert Invoice.objects.filter(org=org).exclude(number="").values("number").distinct().count() == \
            Invoice.objects.filter(org=org).exclude(number="").count()
