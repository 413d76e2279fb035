"""Downloading an invoice PDF: who may, what they get, and that it comes from storage."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts import services as account_services
from accounts.models import Membership, Role
from billing_portal.subscriptions.periods import Period
from invoices.models import InvoiceEvent, InvoiceEventKind
from invoices.services import invoice_create_draft, invoice_record_failure
from tests.factories import (
    TEST_ACTOR,
    UserFactory,
    add_member,
    invoice_lines,
    issue_invoice,
    make_org,
    pdf_pages,
)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


@pytest.fixture
def org():
    return make_org(name="Acme", plan="team", clock_at=NOW)  # room for more members


@pytest.fixture
def invoice(org):
    return issue_invoice(org)


def owner_of(org):
    return Membership.objects.get(org=org, role=Role.OWNER).user


def download(client, user, invoice):
    client.force_login(user)
    return client.get(reverse("invoices:pdf", args=[invoice.pk]))


def rendered_events(invoice) -> int:
    return InvoiceEvent.objects.filter(invoice=invoice, kind=InvoiceEventKind.PDF_RENDERED).count()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, invoice):
    url = reverse("invoices:pdf", args=[invoice.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.django_db
def test_owner_downloads_the_pdf_which_is_rendered_once_then_served_from_storage(client, org, invoice):
    response = download(client, owner_of(org), invoice)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert "no-store" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF") and invoice.number in "\n".join(pdf_pages(body))
    assert rendered_events(invoice) == 1

    again = client.get(reverse("invoices:pdf", args=[invoice.pk]))
    assert b"".join(again.streaming_content) == body
    assert rendered_events(invoice) == 1


@pytest.mark.django_db
def test_a_stale_pdf_is_rendered_again_on_download(client, org, invoice):
    download(client, owner_of(org), invoice)
    invoice_record_failure(invoice=invoice, actor=TEST_ACTOR, code="card_declined", message="Declined")
    body = b"".join(download(client, owner_of(org), invoice).streaming_content)
    assert "PAST DUE" in "\n".join(pdf_pages(body))
    assert rendered_events(invoice) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "billing_read", "status"),
    [
        (Role.ADMIN, False, 200),
        (Role.MEMBER, True, 200),
        (Role.VIEWER, True, 200),
        (Role.MEMBER, False, 403),
        (Role.VIEWER, False, 403),
    ],
)
def test_members_need_billing_access(client, org, invoice, role, billing_read, status):
    membership = add_member(org, role=role)
    if billing_read:
        owner = Membership.objects.get(org=org, role=Role.OWNER)
        account_services.membership_set_billing_read(membership=membership, allowed=True, by=owner)
    assert download(client, membership.user, invoice).status_code == status


@pytest.mark.django_db
def test_staff_may_download_any_invoice(client, invoice):
    assert download(client, UserFactory(is_staff=True), invoice).status_code == 200


@pytest.mark.django_db
def test_another_orgs_invoice_is_not_found(client, invoice):
    other = make_org(name="Other", clock_at=NOW)
    assert download(client, owner_of(other), invoice).status_code == 404


@pytest.mark.django_db
def test_a_removed_member_no_longer_sees_invoices(client, org, invoice):
    membership = add_member(org, role=Role.ADMIN)
    owner = Membership.objects.get(org=org, role=Role.OWNER)
    account_services.membership_remove(membership=membership, by=owner)
    assert download(client, membership.user, invoice).status_code == 404


@pytest.mark.django_db
def test_drafts_and_unknown_ids_are_not_found(client, org):
    draft = invoice_create_draft(org=org, kind="manual", currency="USD", lines=invoice_lines(1),
                                 period=Period(NOW, NOW), actor=TEST_ACTOR)
    assert download(client, owner_of(org), draft).status_code == 404
    assert client.get(reverse("invoices:pdf", args=[draft.pk + 1000])).status_code == 404
    draft.refresh_from_db()
    assert not draft.pdf
