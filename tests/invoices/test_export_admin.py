"""The invoice admin: the finance export page, the changelist and read-only invoices, tax rates."""

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from billing_portal.audit.models import AuditEntry
from invoices.models import Invoice, TaxRate
from tests.factories import UserFactory, issue_invoice, make_org

MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)
EXPORT_URL = "admin:invoices_invoice_export"


@pytest.fixture
def invoice():
    org = make_org(name="Acme", clock_at=MARCH)
    org.country = "DE"
    org.save()
    return issue_invoice(org)


def staff(*, can_export=False, superuser=False):
    user = UserFactory(is_staff=True, is_superuser=superuser)
    ours = Permission.objects.filter(content_type__app_label="invoices")
    user.user_permissions.add(ours.get(codename="view_invoice"))
    if can_export:
        user.user_permissions.add(ours.get(codename="export_invoices"))
    return user


@pytest.mark.django_db
def test_export_needs_the_export_permission(client, invoice):
    client.force_login(staff())
    assert client.get(reverse(EXPORT_URL)).status_code == 403
    assert client.post(reverse(EXPORT_URL), {"month": "2026-03"}).status_code == 403
    changelist = client.get(reverse("admin:invoices_invoice_changelist"))
    assert changelist.status_code == 200 and "Export month" not in changelist.content.decode()


@pytest.mark.django_db
def test_finance_staff_export_a_month_as_a_zip(client, invoice):
    client.force_login(staff(can_export=True))
    changelist = client.get(reverse("admin:invoices_invoice_changelist")).content.decode()
    assert "Export month" in changelist and reverse(EXPORT_URL) in changelist
    assert client.get(reverse(EXPORT_URL)).status_code == 200

    response = client.post(reverse(EXPORT_URL), {"month": "2026-03"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="invoices-2026-03.zip"'
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        assert sorted(archive.namelist()) == [f"{invoice.number}.pdf", "invoices-2026-03.csv"]
        rows = list(csv.DictReader(io.StringIO(archive.read("invoices-2026-03.csv").decode("utf-8-sig"))))
    assert [(row["number"], row["total"]) for row in rows] == [(invoice.number, "101.15")]


@pytest.mark.django_db
def test_a_bad_month_is_shown_on_the_form_not_a_server_error(client):
    client.force_login(staff(can_export=True))
    response = client.post(reverse(EXPORT_URL), {"month": "2026-3x"})
    assert response.status_code == 200
    assert "is not a month; use YYYY-MM" in response.content.decode()


@pytest.mark.django_db
def test_changelist_shows_formatted_totals_and_finds_by_org_and_email(client, invoice):
    client.force_login(staff(superuser=True))
    url = reverse("admin:invoices_invoice_changelist")
    page = client.get(url).content.decode()
    assert invoice.number in page and "$101.15" in page
    assert invoice.number in client.get(url, {"q": invoice.org.slug}).content.decode()
    assert invoice.number in client.get(url, {"q": invoice.billing_email}).content.decode()
    assert invoice.number not in client.get(url, {"q": "no-such-org"}).content.decode()
    for month, listed in (("3", True), ("4", False)):
        page = client.get(url, {"issued_at__year": "2026", "issued_at__month": month}).content.decode()
        assert (invoice.number in page) is listed


@pytest.mark.django_db
def test_invoices_are_read_only_in_admin(client, invoice):
    client.force_login(staff(superuser=True))
    url = reverse("admin:invoices_invoice_change", args=[invoice.pk])
    page = client.get(url).content.decode()
    assert "Team plan" in page and reverse("invoices:pdf", args=[invoice.pk]) in page
    assert 'name="_save"' not in page
    assert client.post(url, {"memo": "changed", "billed_name": "Someone else"}).status_code == 403
    invoice.refresh_from_db()
    assert invoice.memo == "" and invoice.billed_name == "Acme"
    assert Invoice.objects.count() == 1


@pytest.mark.django_db
def test_tax_rate_changes_are_audited(client):
    client.force_login(staff(superuser=True))
    rate = TaxRate.objects.get(country="DE")
    url = reverse("admin:invoices_taxrate_change", args=[rate.pk])
    response = client.post(url, {"country": "DE", "name": "VAT", "rate_bp": 1_600})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="tax_rate.changed")
    assert (entry.before, entry.after) == ({"rate_bp": 1900}, {"rate_bp": 1600})
