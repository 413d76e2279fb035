"""The finance export: `export_invoices` writes a ZIP whose CSV register agrees with its PDFs."""

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from billing_portal.core.money import Money
from billing_portal.subscriptions.periods import Period
from invoices.export import CSV_COLUMNS
from invoices.models import LineKind
from invoices.services import LineSpec, invoice_create_draft, invoice_record_payment, invoice_void
from tests.factories import TEST_ACTOR, invoice_lines, issue_invoice, make_org, pdf_pages

MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)


def org_at(at, *, name, currency="USD", country="US"):
    org = make_org(name=name, clock_at=at, currency=currency)
    org.country = country
    org.save()
    return org


@pytest.fixture
def month_of_invoices():
    """March 2026 (UTC): four finalized invoices in USD and JPY, one void; plus some that do not belong."""
    acme = org_at(MARCH, name="Acme", country="DE")
    paid = issue_invoice(acme)
    invoice_record_payment(invoice=paid, amount=paid.amount_due, actor=TEST_ACTOR)
    voided = issue_invoice(acme, lines=invoice_lines(3))
    invoice_void(invoice=voided, actor=TEST_ACTOR, reason="Issued twice")
    long = issue_invoice(acme, lines=invoice_lines(60))
    tokyo = org_at(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), name="Tokyo KK", currency="JPY", country="JP")
    yen = issue_invoice(tokyo, lines=[LineSpec(LineKind.PLAN, "Team plan", Money(4_900, "JPY"), quantity=2)])
    # Not in March: issued a minute either side of it, and a draft (never issued).
    issue_invoice(org_at(datetime(2026, 2, 28, 23, 59, tzinfo=UTC), name="February"))
    issue_invoice(org_at(datetime(2026, 4, 1, 0, 0, tzinfo=UTC), name="April"))
    invoice_create_draft(org=acme, kind="manual", currency="USD", lines=invoice_lines(1),
                         period=Period(MARCH, MARCH), actor=TEST_ACTOR)
    return {"acme": acme, "tokyo": tokyo, "march": [paid, voided, long, yen]}


def read_export(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        (register,) = [name for name in names if name.endswith(".csv")]
        rows = list(csv.DictReader(io.StringIO(archive.read(register).decode("utf-8-sig"))))
        pdfs = {name.removesuffix(".pdf"): "\n".join(pdf_pages(archive.read(name)))
                for name in names if name.endswith(".pdf")}
    return register, rows, pdfs


@pytest.mark.django_db
def test_export_writes_every_pdf_and_a_register_whose_amounts_match_them(tmp_path, month_of_invoices):
    out = tmp_path / "march.zip"
    stdout = io.StringIO()
    call_command("export_invoices", "--month", "2026-03", "--out", str(out), stdout=stdout)
    assert "Wrote 4 invoices" in stdout.getvalue()

    register, rows, pdfs = read_export(out)
    assert register == "invoices-2026-03.csv"
    march = month_of_invoices["march"]
    assert [row["number"] for row in rows] == [invoice.number for invoice in march]
    assert set(pdfs) == {invoice.number for invoice in march}
    assert list(rows[0]) == list(CSV_COLUMNS)
    for row in rows:
        text = pdfs[row["number"]]
        assert row["number"] in text
        for column in ("subtotal", "tax", "total", "amount_paid"):
            assert Money.from_major(row[column], row["currency"]).format() in text, (row["number"], column)
    assert [row["status"] for row in rows] == ["paid", "void", "open", "open"]
    assert rows[0]["org"] == "acme" and rows[0]["org_name"] == "Acme"
    assert rows[0]["issued_at"] == "2026-03-10T12:00:00+00:00"
    yen = rows[3]
    assert (yen["currency"], yen["subtotal"], yen["tax"], yen["total"]) == ("JPY", "9800", "980", "10780")
    assert rows[0]["tax"] == "16.15" and rows[0]["total"] == "101.15" and rows[0]["amount_paid"] == "101.15"


@pytest.mark.django_db
def test_export_for_one_org(tmp_path, month_of_invoices):
    out = tmp_path / "tokyo.zip"
    tokyo = month_of_invoices["tokyo"].slug
    call_command("export_invoices", "--month", "2026-03", "--org", tokyo, "--out", str(out),
                 stdout=io.StringIO())
    register, rows, pdfs = read_export(out)
    assert register == f"invoices-2026-03-{tokyo}.csv"
    assert [row["org"] for row in rows] == [tokyo]
    assert set(pdfs) == {rows[0]["number"]}


@pytest.mark.django_db
def test_customer_typed_names_cannot_become_spreadsheet_formulas(tmp_path):
    issue_invoice(org_at(MARCH, name='=HYPERLINK("http://evil.example","pay here")'))
    out = tmp_path / "march.zip"
    call_command("export_invoices", "--month", "2026-03", "--out", str(out), stdout=io.StringIO())
    _, rows, _ = read_export(out)
    assert rows[0]["org_name"] == '\'=HYPERLINK("http://evil.example","pay here")'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--month", "2026-13"], "not a month"),
        (["--month", "March"], "not a month"),
        (["--month", "2026-03", "--org", "nobody"], "no organization"),
    ],
)
def test_bad_arguments_are_errors_and_leave_no_file(tmp_path, arguments, message):
    out = tmp_path / "export.zip"
    with pytest.raises(CommandError, match=message):
        call_command("export_invoices", *arguments, "--out", str(out))
    assert list(tmp_path.iterdir()) == []
