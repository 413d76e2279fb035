"""Voiding, emailing again, re-rendering and refunding invoices through the invoice admin."""

import pytest
from django.core import mail

from billing_portal.audit.services import Actor
from billing_portal.core.errors import InvalidInput
from billing_portal.core.money import Money
from billing_portal.payments.models import Charge, ChargeStatus, Refund
from billing_portal.payments.refunds import charge_refund
from invoices.models import Invoice, InvoiceEventKind, InvoiceKind, InvoiceStatus
from invoices.pdf import invoice_render_pdf
from tests.admin.conftest import change_url, changelist_url, last_entry, operation_url
from tests.concurrency import run_concurrently
from tests.factories import issue_invoice, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_invoice():
    return issue_invoice(make_org(name="Acme"))


@pytest.fixture
def paid_invoice():
    org = make_org(name="Paying", plan="team")
    return Invoice.objects.get(org=org, kind=InvoiceKind.SUBSCRIPTION_START, status=InvoiceStatus.PAID)


def test_finance_voids_an_open_invoice(client, login, open_invoice):
    user = login("invoices.void_invoice")
    response = client.post(operation_url(open_invoice, "void"), {"reason": "Issued twice"})
    assert response.status_code == 302
    open_invoice.refresh_from_db()
    assert open_invoice.status == InvoiceStatus.VOID
    assert open_invoice.events.filter(kind=InvoiceEventKind.VOIDED, actor_label=user.email).exists()
    entry = last_entry("invoice.void")
    assert (entry.actor_user, entry.before, entry.after, entry.reason) == (
        user,
        {"status": "open"},
        {"status": "void"},
        "Issued twice",
    )


def test_a_paid_invoice_is_not_voided(client, login, paid_invoice):
    login("invoices.void_invoice")
    response = client.post(operation_url(paid_invoice, "void"), {"reason": "x"})
    assert response.status_code == 200 and "Only open or past-due invoices" in response.content.decode()
    paid_invoice.refresh_from_db()
    assert paid_invoice.status == InvoiceStatus.PAID


def test_finance_emails_an_invoice_again_with_its_pdf(client, login, open_invoice):
    user = login("invoices.resend_invoice")
    assert open_invoice.billing_email in client.get(operation_url(open_invoice, "resend")).content.decode()
    assert client.post(operation_url(open_invoice, "resend"), {}).status_code == 302
    [message] = mail.outbox
    assert message.to == [open_invoice.billing_email] and open_invoice.number in message.subject
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (f"{open_invoice.number}.pdf", "application/pdf") and content.startswith(b"%PDF")
    sent = open_invoice.events.get(kind=InvoiceEventKind.SENT)
    assert (sent.actor_label, sent.data) == (user.email, {"to": open_invoice.billing_email})
    entry = last_entry("invoice.sent")
    assert (entry.actor_user, entry.org, entry.after["to"]) == (
        user,
        open_invoice.org,
        open_invoice.billing_email,
    )


def test_rerendering_makes_a_missing_pdf_again(client, login, open_invoice):
    user = login("invoices.rerender_invoice_pdf")
    assert client.post(operation_url(open_invoice, "rerender-pdf"), {}).status_code == 302
    open_invoice.refresh_from_db()
    assert (
        open_invoice.pdf.name
        and open_invoice.events.filter(kind=InvoiceEventKind.PDF_RENDERED, actor_label=user.email).exists()
    )
    assert last_entry("invoice.pdf_refreshed").after == {"file": open_invoice.pdf.name, "rendered": True}
    client.post(operation_url(open_invoice, "rerender-pdf"), {})  # already current: nothing new
    assert last_entry("invoice.pdf_refreshed").after["rendered"] is False


def test_finance_refunds_part_of_a_payment_and_the_invoice_keeps_its_amounts(client, login, paid_invoice):
    charge = Charge.objects.get(invoice=paid_invoice, status=ChargeStatus.SUCCEEDED)
    totals = (paid_invoice.total, paid_invoice.amount_paid, paid_invoice.status)
    user = login("payments.refund_charge", "invoices.view_invoice", "payments.view_refund")
    form = client.get(operation_url(paid_invoice, "refund")).context["form"]
    key = form.fields["key"].initial
    response = client.post(
        operation_url(paid_invoice, "refund"),
        {"charge": charge.pk, "amount": "10.00", "reason": "Goodwill", "key": key},
    )
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.charge, refund.invoice, refund.refunded_by) == (
        1_000,
        charge,
        paid_invoice,
        user,
    )
    assert refund.provider_reference.startswith("re_local_")
    paid_invoice.refresh_from_db()
    assert (paid_invoice.total, paid_invoice.amount_paid, paid_invoice.status) == totals
    event = paid_invoice.events.get(kind=InvoiceEventKind.REFUNDED)
    assert (event.actor_label, event.data["amount"]) == (user.email, 1_000)
    entry = last_entry("charge.refunded")
    assert (entry.actor_user, entry.before, entry.after["refunded"], entry.reason) == (
        user,
        {"refunded": 0},
        1_000,
        "Goodwill",
    )
    page = client.get(change_url(paid_invoice)).content.decode()
    assert "$10.00" in page and "Goodwill" in page  # shown on the invoice's page

    again = client.post(
        operation_url(paid_invoice, "refund"),
        {"charge": charge.pk, "amount": "10.00", "reason": "Goodwill", "key": key},
    )
    assert again.status_code == 302 and Refund.objects.count() == 1  # a double submit refunds once


def test_refunds_never_exceed_what_was_charged(client, login, paid_invoice):
    charge = Charge.objects.get(invoice=paid_invoice, status=ChargeStatus.SUCCEEDED)
    login("payments.refund_charge")
    first = {
        "charge": charge.pk,
        "amount": f"{(charge.amount - 100) / 100:.2f}",
        "reason": "Most",
        "key": "k1",
    }
    assert client.post(operation_url(paid_invoice, "refund"), first).status_code == 302
    over = client.post(
        operation_url(paid_invoice, "refund"),
        {"charge": charge.pk, "amount": "1.01", "reason": "More", "key": "k2"},
    )
    assert over.status_code == 200 and "At most $1.00 is left to refund" in over.content.decode()
    rest = client.post(
        operation_url(paid_invoice, "refund"),
        {"charge": charge.pk, "amount": "1.00", "reason": "Rest", "key": "k3"},
    )
    assert rest.status_code == 302
    assert sum(Refund.objects.values_list("amount", flat=True)) == charge.amount
    for amount in ("0", "-1", "1.001", "a lot"):
        bad = client.post(
            operation_url(paid_invoice, "refund"),
            {"charge": charge.pk, "amount": amount, "reason": "x", "key": f"bad-{amount}"},
        )
        assert bad.status_code == 200 and "errorlist" in bad.content.decode(), amount
    assert Refund.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("void", {"reason": "x"}),
        ("resend", {}),
        ("rerender-pdf", {}),
        ("refund", {"amount": "1", "reason": "x", "key": "k"}),
    ],
)
def test_support_cannot_run_finance_invoice_operations(client, login, open_invoice, name, data):
    login("invoices.view_invoice", "subscriptions.extend_trial", "metering.grant_credits")
    assert client.post(operation_url(open_invoice, name), data).status_code == 403
    page = client.get(change_url(open_invoice)).content.decode()
    assert operation_url(open_invoice, name) not in page
    changelist = client.get(changelist_url(Invoice)).content.decode()
    assert f'value="{name}"' not in changelist
    open_invoice.refresh_from_db()
    assert open_invoice.status == InvoiceStatus.OPEN and not mail.outbox and not Refund.objects.exists()


def test_finance_sees_its_operations_on_the_invoice_page(client, login, open_invoice):
    invoice_render_pdf(invoice=open_invoice)
    login("invoices.view_invoice", "invoices.void_invoice", "invoices.resend_invoice")
    page = client.get(change_url(open_invoice)).content.decode()
    assert operation_url(open_invoice, "void") in page and operation_url(open_invoice, "resend") in page
    assert operation_url(open_invoice, "rerender-pdf") not in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_the_charge():
    org = make_org(name="Racing", plan="team")
    charge = Charge.objects.get(org=org, status=ChargeStatus.SUCCEEDED)
    half_and_more = Money(charge.amount // 2 + 1, charge.currency)

    def refund(index):
        return charge_refund(
            charge=charge,
            amount=half_and_more,
            reason="race",
            actor=Actor.system("tests"),
            idempotency_key=f"race-{index}",
        )

    results = run_concurrently(refund, 2)
    assert sorted(type(result).__name__ for result in results) == ["InvalidInput", "Refund"]
    assert isinstance(next(r for r in results if not isinstance(r, Refund)), InvalidInput)
    assert Refund.objects.filter(charge=charge).count() == 1
