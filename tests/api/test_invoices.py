"""Invoices over the API: finalized ones of the caller's org only, paginated, in detail and as PDFs."""

import pytest
from django.urls import reverse

from billing_portal.subscriptions.periods import Period
from invoices.models import Invoice
from invoices.services import invoice_create_draft, invoice_void
from tests.api.helpers import NOW, key_client, paying_org
from tests.factories import TEST_ACTOR, invoice_lines, issue_invoice, pdf_pages

pytestmark = pytest.mark.django_db
LIST = reverse("api-invoices")


def detail(invoice):
    return reverse("api-invoice", args=[invoice.pk])


def pdf(invoice):
    return reverse("api-invoice-pdf", args=[invoice.pk])


@pytest.fixture
def org():
    return paying_org()


@pytest.fixture
def draft(org):
    return invoice_create_draft(
        org=org,
        kind="manual",
        currency="USD",
        lines=invoice_lines(1),
        period=Period(NOW, NOW.replace(month=4)),
        actor=TEST_ACTOR,
    )


def test_the_list_is_newest_first_without_drafts_and_paginated(org, draft):
    first = Invoice.objects.get(org=org, kind="subscription_start")
    manual = issue_invoice(org)
    client = key_client(org, "billing:read")
    body = client.get(LIST).json()
    assert body["count"] == 2 and body["previous"] is None
    assert [item["id"] for item in body["results"]] == [manual.pk, first.pk]
    assert draft.pk not in [item["id"] for item in body["results"]]
    page = client.get(LIST, {"page_size": 1, "page": 2}).json()
    assert [item["id"] for item in page["results"]] == [first.pk]
    assert page["previous"] and page["next"] is None
    assert client.get(LIST, {"page": 3, "page_size": 1}).status_code == 404


def test_list_items_carry_money_timestamps_and_the_pdf_link(org):
    invoice = issue_invoice(org)
    item = key_client(org, "billing:read").get(LIST).json()["results"][0]
    assert item == {
        "id": invoice.pk,
        "number": invoice.number,
        "status": "open",
        "kind": "manual",
        "currency": "USD",
        "total": {"amount": 4_900 + 3 * 1_200, "currency": "USD"},
        "amount_due": {"amount": 8_500, "currency": "USD"},
        "period_start": "2026-03-10T12:00:00Z",
        "period_end": "2026-04-09T12:00:00Z",
        "issued_at": "2026-03-10T12:00:00Z",
        "due_at": "2026-03-10T12:00:00Z",
        "paid_at": None,
        "pdf_url": f"http://testserver/api/billing/invoices/{invoice.pk}/pdf",
    }


def test_the_list_filters_by_status_and_refuses_unknown_ones(org):
    voided = invoice_void(invoice=issue_invoice(org), actor=TEST_ACTOR, reason="tests")
    client = key_client(org, "billing:read")
    assert [item["id"] for item in client.get(LIST, {"status": "void"}).json()["results"]] == [voided.pk]
    for status in ("draft", "nonsense"):
        response = client.get(LIST, {"status": status})
        assert response.status_code == 400 and "status" in response.json()["error"]["fields"]


def test_detail_has_the_lines_and_totals(org):
    invoice = issue_invoice(org)
    body = key_client(org, "billing:read").get(detail(invoice)).json()
    assert body["subtotal"] == body["total"] == {"amount": 8_500, "currency": "USD"}
    assert body["tax"] == {"amount": 0, "currency": "USD"} and body["amount_paid"]["amount"] == 0
    assert body["lines"] == [
        {
            "kind": "plan",
            "description": "Team plan",
            "quantity": 1,
            "unit_amount": {"amount": 4_900, "currency": "USD"},
            "amount": {"amount": 4_900, "currency": "USD"},
            "period_start": "2026-03-10T12:00:00Z",
            "period_end": "2026-04-09T12:00:00Z",
        },
        {
            "kind": "seats",
            "description": "Additional seats",
            "quantity": 3,
            "unit_amount": {"amount": 1_200, "currency": "USD"},
            "amount": {"amount": 3_600, "currency": "USD"},
            "period_start": "2026-03-10T12:00:00Z",
            "period_end": "2026-04-09T12:00:00Z",
        },
    ]


def test_the_pdf_is_the_rendered_invoice(org):
    invoice = issue_invoice(org)
    response = key_client(org, "billing:read").get(pdf(invoice), HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert invoice.number in pdf_pages(b"".join(response.streaming_content))[0]


def test_another_orgs_invoice_and_drafts_are_404_and_pdf_errors_are_json(org, draft):
    stranger = issue_invoice(paying_org(name="Globex"))
    client = key_client(org, "billing:read")
    for url in (detail(stranger), detail(draft), reverse("api-invoice", args=[10**9])):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    for url in (pdf(stranger), pdf(draft)):
        response = client.get(url, HTTP_ACCEPT="application/pdf")
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"


def test_invoices_need_billing_read(org):
    invoice = issue_invoice(org)
    client = key_client(org, "usage", "billing:write")
    for url in (LIST, detail(invoice), pdf(invoice)):
        assert client.get(url).status_code == 403
    assert not Invoice.objects.get(pk=invoice.pk).pdf  # nothing was rendered for the refused call
