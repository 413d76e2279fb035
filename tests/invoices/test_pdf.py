"""Invoice PDFs, read back with pypdf: content, fonts, pages, status stamps, and when they are rendered."""

import threading
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from billing_portal.core.errors import Conflict
from billing_portal.core.money import Money
from billing_portal.subscriptions.periods import Period
from invoices import pdf
from invoices.models import InvoiceEvent, InvoiceEventKind, InvoiceLine, LineKind, invoice_pdf_storage
from invoices.pdf import (
    StaticAssetFetcher,
    invoice_pdf_bytes,
    invoice_pdf_fingerprint,
    invoice_pdf_open,
    invoice_render_pdf,
)
from invoices.services import (
    LineSpec,
    invoice_create_draft,
    invoice_record_failure,
    invoice_record_payment,
    invoice_void,
)
from invoices.tasks import render_invoice_pdf
from tests.factories import TEST_ACTOR, invoice_lines, issue_invoice, make_org, pdf_pages

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
RED = (0.776, 0.157, 0.157)  # #c62828


def german_org():
    org = make_org(name="Müller & Söhne GmbH", clock_at=NOW)
    org.tax_id = "DE123456789"
    org.country = "DE"
    org.billing_address = "Unter den Linden 1\n10117 Berlin"
    org.billing_email = "rechnungen@mueller.example"
    org.save()
    return org


def stored_bytes(invoice) -> bytes:
    with invoice_pdf_open(invoice) as stored:
        return stored.read()


def stored_text(invoice) -> str:
    return "\n".join(pdf_pages(stored_bytes(invoice)))


def pdf_events(invoice) -> int:
    return InvoiceEvent.objects.filter(invoice=invoice, kind=InvoiceEventKind.PDF_RENDERED).count()


@pytest.mark.django_db
def test_pdf_shows_seller_buyer_number_every_line_and_totals():
    invoice = invoice_render_pdf(invoice=issue_invoice(german_org()))
    text = stored_text(invoice)

    assert invoice.number in text
    for line in InvoiceLine.objects.filter(invoice=invoice):
        assert line.description in text
        assert Money(line.amount, "USD").format() in text
        assert Money(line.unit_amount, "USD").format() in text
    for field in ("subtotal", "tax", "total", "amount_paid"):
        assert invoice.money(field).format() in text
    assert "VAT (19%)" in text
    assert "Tax ID: DE123456789" in text and "rechnungen@mueller.example" in text
    assert "Müller & Söhne GmbH" in text and "10117 Berlin" in text and "Germany" in text
    seller = settings.BILLING_SELLER
    assert seller["name"] in text and f"Tax ID: {seller['tax_id']}" in text and seller["email"] in text
    assert "Issued Mar 10, 2026" in text and "OPEN" in text
    assert invoice.pdf_fingerprint == invoice_pdf_fingerprint(invoice)
    assert pdf_events(invoice) == 1


@pytest.mark.django_db
def test_buyer_details_come_from_the_invoice_snapshot_not_the_live_org():
    org = german_org()
    invoice = issue_invoice(org)
    org.tax_id, org.billing_email, org.name = "DE000000000", "new@mueller.example", "Renamed AG"
    org.save()
    text = stored_text(invoice_render_pdf(invoice=invoice))
    assert "DE123456789" in text and "rechnungen@mueller.example" in text and "Müller & Söhne GmbH" in text
    assert "DE000000000" not in text and "new@mueller.example" not in text and "Renamed AG" not in text


@pytest.mark.django_db
def test_seller_details_are_those_at_finalization_even_when_re_rendered_after_they_change(settings):
    invoice = issue_invoice(german_org())
    first = stored_text(invoice_render_pdf(invoice=invoice))
    old = dict(settings.BILLING_SELLER)
    settings.BILLING_SELLER = {"name": "Moved Corp", "address": "9 New Road\nDublin", "tax_id": "IE9999999X",
                               "email": "ar@moved.example"}  # fmt: skip
    voided = invoice_void(invoice=invoice, actor=TEST_ACTOR, reason="Issued twice")  # re-rendered as VOID
    text = stored_text(invoice_render_pdf(invoice=voided))
    assert "VOID" in text and old["name"] in first and old["name"] in text and f"Tax ID: {old['tax_id']}" in text
    assert "Moved Corp" not in text and "IE9999999X" not in text and "ar@moved.example" not in text
    later = issue_invoice(german_org())  # finalized after the change: the new details
    assert later.seller["name"] == "Moved Corp"
    assert "Moved Corp" in stored_text(invoice_render_pdf(invoice=later)) and old["name"] not in later.seller.values()


@pytest.mark.django_db
def test_zero_decimal_currency_has_no_decimals():
    org = make_org(clock_at=NOW, currency="JPY")
    org.country = "JP"
    org.save()
    lines = [LineSpec(LineKind.PLAN, "Team plan", Money(4_900, "JPY")),
             LineSpec(LineKind.SEATS, "Seats", Money(1_200, "JPY"), quantity=3)]
    invoice = invoice_render_pdf(invoice=issue_invoice(org, lines=lines))
    text = stored_text(invoice)
    assert "¥4,900" in text and "¥3,600" in text and "JCT (10%)" in text
    assert invoice.money("total").format() == "¥9,350" and "¥9,350" in text
    assert ".00" not in text


@pytest.mark.django_db
def test_long_invoice_repeats_the_table_header_on_every_page():
    invoice = invoice_render_pdf(invoice=issue_invoice(german_org(), lines=invoice_lines(120)))
    pages = pdf_pages(stored_bytes(invoice))
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert "DESCRIPTION PERIOD QTY UNIT PRICE AMOUNT" in page, f"page {number} has no table header"
        assert f"Page {number} of {len(pages)}" in page and invoice.number in page
    text = "\n".join(pages)
    for line in InvoiceLine.objects.filter(invoice=invoice):
        assert f"{line.description} {line.quantity} {Money(line.unit_amount, 'USD').format()} " \
               f"{Money(line.amount, 'USD').format()}" in text
    assert invoice.money("total").format() in pages[-1]


@pytest.mark.django_db
def test_bundled_fonts_are_fetched_from_static_files_and_embedded(monkeypatch):
    fetched = []

    class RecordingFetcher(StaticAssetFetcher):
        def fetch(self, url, headers=None):
            fetched.append(url)
            return super().fetch(url, headers)

    # A fresh per-thread font cache, so this render loads the @font-face files instead of reusing them.
    monkeypatch.setattr(pdf, "_local", threading.local())
    monkeypatch.setattr(pdf, "StaticAssetFetcher", RecordingFetcher)
    reader = PdfReader(BytesIO(invoice_pdf_bytes(invoice=issue_invoice(german_org()))))

    assert sorted(fetched) == ["static:css/invoice.css", "static:fonts/DejaVuSans-Bold.ttf",
                               "static:fonts/DejaVuSans.ttf", "static:fonts/DroidSansFallback.ttf"]
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = (font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font)
            fonts[str(font["/BaseFont"]).split("+")[-1]] = descriptor["/FontDescriptor"].get_object()
    # Named after the @font-face family: a system font picked as a fallback would keep its own name. Only fonts
    # used are embedded: no CJK one for a German buyer.
    assert set(fonts) == {"Invoice-Sans", "Invoice-Sans-Bold"}
    assert all("/FontFile2" in descriptor for descriptor in fonts.values()), "fonts must be embedded"


def test_asset_fetcher_serves_static_files_and_refuses_everything_else():
    fetcher = StaticAssetFetcher()
    font = Path(settings.BASE_DIR, "static/fonts/DejaVuSans.ttf").read_bytes()
    assert fetcher.fetch("static:fonts/DejaVuSans.ttf").read() == font
    for url in ("https://example.com/invoice.css", "http://127.0.0.1:9/logo.png", "file:///etc/passwd",
                "static:../billing_portal/settings/base.py", "static:/etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    # Inside a render a refused URL stops the render instead of quietly leaving the asset out.
    with pytest.raises(FatalURLFetchingError):
        HTML(string='<img src="http://127.0.0.1:9/logo.png">', url_fetcher=fetcher).write_pdf()


def _fill_colour_of(page, wanted: str):
    """The fill colour (rg) in force when `wanted` is drawn."""
    colour, found = [None], []

    def before(operator, arguments, cm, tm):
        if operator == b"rg":
            colour[0] = tuple(round(float(value), 3) for value in arguments)

    def text(chunk, cm, tm, font, size):
        if wanted in chunk:
            found.append(colour[0])

    page.extract_text(visitor_operand_before=before, visitor_text=text)
    return found[0] if found else None


@pytest.mark.django_db
def test_past_due_pdf_is_flagged_red_and_links_to_the_payment_page(settings):
    settings.PORTAL_BASE_URL = "https://billing.example.com"
    invoice = issue_invoice(german_org())
    invoice_record_failure(invoice=invoice, actor=TEST_ACTOR, code="card_declined", message="Declined")
    invoice = invoice_render_pdf(invoice=invoice)
    text = stored_text(invoice)
    assert "PAST DUE" in text and "Payment failed: this invoice is past due." in text
    assert f"{invoice.amount_due.format()} is outstanding" in text
    page = PdfReader(BytesIO(stored_bytes(invoice))).pages[0]
    assert _fill_colour_of(page, "PAST DUE") == RED
    links = {annotation.get_object()["/A"]["/URI"] for annotation in page["/Annots"]}
    assert links == {"https://billing.example.com/billing/payment/"}


@pytest.mark.django_db
def test_task_renders_again_only_when_what_the_pdf_shows_changes(django_capture_on_commit_callbacks):
    invoice = issue_invoice(german_org())
    render_invoice_pdf(invoice.pk)
    invoice.refresh_from_db()
    first = invoice.pdf.name
    render_invoice_pdf(invoice.pk)
    invoice.refresh_from_db()
    assert invoice.pdf.name == first and pdf_events(invoice) == 1

    invoice_record_failure(invoice=invoice, actor=TEST_ACTOR, code="card_declined", message="Declined")
    with django_capture_on_commit_callbacks(execute=True):
        render_invoice_pdf(invoice.pk)
    invoice.refresh_from_db()
    assert invoice.pdf.name != first and pdf_events(invoice) == 2
    assert not invoice_pdf_storage().exists(first), "the superseded PDF is removed"
    assert "PAST DUE" in stored_text(invoice)

    invoice_record_payment(invoice=invoice, amount=invoice.amount_due, actor=TEST_ACTOR)
    render_invoice_pdf(invoice.pk)
    invoice.refresh_from_db()
    text = stored_text(invoice)
    assert pdf_events(invoice) == 3
    assert "PAID" in text and "PAST DUE" not in text and "Paid Mar 10, 2026" in text
    assert f"Amount paid {invoice.money('total').format()}" in text


@pytest.mark.django_db
def test_a_missing_file_is_rendered_again():
    invoice = invoice_render_pdf(invoice=issue_invoice(german_org()))
    invoice_pdf_storage().delete(invoice.pdf.name)
    again = invoice_render_pdf(invoice=invoice)
    assert invoice_pdf_storage().exists(again.pdf.name) and pdf_events(invoice) == 2


@pytest.fixture
def rendered_in_a_worker(db):
    """An invoice and a render of it that a worker has made but not stored yet."""
    invoice = issue_invoice(german_org())
    return invoice, invoice_pdf_fingerprint(invoice), invoice_pdf_bytes(invoice=invoice)


def stored_files(settings) -> list[str]:
    location = Path(settings.STORAGES["invoice_pdfs"]["OPTIONS"]["location"])
    return [path.relative_to(location).as_posix() for path in location.rglob("*.pdf")]


def test_a_render_that_went_stale_meanwhile_is_not_attached(rendered_in_a_worker, settings):
    invoice, fingerprint, content = rendered_in_a_worker
    invoice_void(invoice=invoice, actor=TEST_ACTOR, reason="Issued twice")  # while that render ran
    assert pdf._store(invoice, fingerprint, content, TEST_ACTOR) is None
    invoice.refresh_from_db()
    assert not invoice.pdf and pdf_events(invoice) == 0
    assert stored_files(settings) == [], "the stale file is not left behind"


def test_two_workers_rendering_the_same_state_store_one_pdf(rendered_in_a_worker, settings):
    invoice, fingerprint, content = rendered_in_a_worker
    first = pdf._store(invoice, fingerprint, content, TEST_ACTOR)
    second = pdf._store(invoice, fingerprint, content, TEST_ACTOR)
    assert second.pdf.name == first.pdf.name and pdf_events(invoice) == 1
    assert stored_files(settings) == [first.pdf.name]


@pytest.mark.django_db
def test_void_invoice_says_so():
    invoice = issue_invoice(german_org())
    invoice_void(invoice=invoice, actor=TEST_ACTOR, reason="Issued twice")
    text = stored_text(invoice_render_pdf(invoice=invoice))
    assert "VOID" in text and "This invoice has been voided and is not payable." in text


@pytest.mark.django_db
def test_drafts_are_not_rendered():
    org = german_org()
    draft = invoice_create_draft(org=org, kind="manual", currency="USD", lines=invoice_lines(2),
                                 period=Period(NOW, NOW), actor=TEST_ACTOR)
    render_invoice_pdf(draft.pk)
    draft.refresh_from_db()
    assert not draft.pdf and pdf_events(draft) == 0
    with pytest.raises(Conflict):
        invoice_render_pdf(invoice=draft)


@pytest.mark.django_db
def test_finalizing_queues_the_render_task(django_capture_on_commit_callbacks, monkeypatch):
    from billing_portal.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(german_org())
    invoice.refresh_from_db()
    assert invoice.pdf and invoice.number in stored_text(invoice)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["株式会社テスト", "北京测试有限公司", "주식회사 테스트"])
def test_chinese_japanese_and_korean_names_are_printed_with_the_bundled_font(name, caplog):
    invoice = invoice_render_pdf(invoice=issue_invoice(make_org(name=name, currency="JPY", clock_at=NOW)))
    text = stored_text(invoice)
    assert name in text and invoice.number in text  # a missing glyph also spoils the extraction of the rest
    assert ".notdef" not in caplog.text
