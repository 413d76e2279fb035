"""The monthly export's month edges, and voids: nothing left due, the subscription back in good standing."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing_portal.payments.models import TestCard
from billing_portal.payments.services import payment_method_add_test_card
from billing_portal.subscriptions.models import Status
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from tests.admin.conftest import operation_url, staff
from tests.factories import make_org
from tests.subscriptions.helpers import ACTOR, advance

JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
FEB10 = datetime(2026, 2, 10, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["9999-12", "0000-01"])
def test_export_command_answers_an_out_of_range_month_with_a_command_error(tmp_path, month):
    """month_from_string accepts any four digits; datetime(10000, 1, 1) / datetime(0, 1, 1) then raise a bare
    ValueError (a traceback, not a CommandError)."""
    with pytest.raises(CommandError):
        call_command("export_invoices", "--month", month, "--out", str(tmp_path / "x.zip"), stdout=io.StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["9999-12", "0000-01"])
def test_admin_export_of_an_out_of_range_month_is_a_form_error_not_a_500(client, month):
    client.raise_request_exception = False
    client.force_login(staff("invoices.view_invoice", "invoices.export_invoices"))
    response = client.post(reverse("admin:invoices_invoice_export"), {"month": month})
    assert response.status_code == 200


@pytest.mark.django_db
def test_voiding_the_past_due_renewal_leaves_the_org_past_due(client):
    """Finance voids the only unpaid invoice; nothing resyncs the subscription's payment state, so the org stays
    'Past due' (past_due_since set) for the rest of the period with nothing owed."""
    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    org = advance(org, FEB10)
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert (renewal.status, org.subscription.status) == (InvoiceStatus.PAST_DUE, Status.PAST_DUE)
    client.force_login(staff("invoices.void_invoice", "invoices.view_invoice"))
    assert client.post(operation_url(renewal, "void"), {"reason": "Goodwill"}).status_code == 302
    renewal.refresh_from_db()
    org.subscription.refresh_from_db()
    assert renewal.status == InvoiceStatus.VOID
    assert not Invoice.objects.filter(org=org, status=InvoiceStatus.PAST_DUE).exists()
    assert org.subscription.status == Status.ACTIVE, (org.subscription.status, org.subscription.past_due_since)


@pytest.mark.django_db
def test_a_void_invoice_pdf_does_not_headline_an_amount_due():
    """A voided invoice is "not payable", yet its PDF's Bill-to box and totals say "Amount due $101.15"
    (Invoice.amount_due ignores the status; the API and the resend email show the same figure)."""
    from invoices.pdf import invoice_pdf_open, invoice_render_pdf
    from invoices.services import invoice_void
    from tests.factories import TEST_ACTOR, issue_invoice, pdf_pages

    org = make_org(clock_at=JAN10)
    org.country = "DE"
    org.save()
    invoice = issue_invoice(org)
    invoice_void(invoice=invoice, actor=TEST_ACTOR, reason="Issued twice")
    invoice.refresh_from_db()
    with invoice_pdf_open(invoice_render_pdf(invoice=invoice)) as pdf:
        text = "\n".join(pdf_pages(pdf.read()))
    assert "not payable" in text
    assert invoice.amount_due.amount == 0 and "Amount due $101.15" not in text, text
