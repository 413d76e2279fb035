"""Invoice PDFs of orgs outside UTC print the org's own billing days, frozen on the invoice."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from invoices.models import Invoice, InvoiceKind
from invoices.pdf import invoice_pdf_bytes
from tests.factories import add_member, make_org, pdf_pages
from tests.subscriptions.helpers import advance

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")


def pdf_text(invoice) -> str:
    return "\n".join(pdf_pages(invoice_pdf_bytes(invoice=invoice)))


def pdf_line(text: str, starts: str) -> str:
    """The first line of the PDF's text that starts with `starts` (e.g. "Period")."""
    return next(line for line in text.splitlines() if line.startswith(starts))


def test_tokyo_org_anchored_on_the_31st_sees_its_own_period_and_issue_date_on_the_pdf():
    # Signs up at 08:00 on Mar 31 in Tokyo (23:00 UTC on Mar 30): the period is Mar 31 - Apr 30, Tokyo time
    # (README: "an anchor on the 31st renews on ... Apr 30").
    org = make_org(plan="team", timezone="Asia/Tokyo", currency="JPY",
                   clock_at=datetime(2026, 3, 31, 8, tzinfo=TOKYO).astimezone(UTC))
    subscription = org.subscription
    assert subscription.current_period_end.astimezone(TOKYO).date().isoformat() == "2026-04-30"
    text = pdf_text(Invoice.objects.get(org=org, kind=InvoiceKind.SUBSCRIPTION_START))
    assert pdf_line(text, "Period") == "Period Mar 31, 2026 – Apr 30, 2026"
    assert pdf_line(text, "Issued") == "Issued Mar 31, 2026"


def test_kiritimati_org_starting_on_new_years_day_gets_an_invoice_dated_in_the_right_year():
    # 10:00 on Jan 1 2026 in Kiritimati (UTC+14) is 20:00 on Dec 31 2025 in UTC.
    org = make_org(plan="pro", timezone="Pacific/Kiritimati",
                   clock_at=datetime(2026, 1, 1, 10, tzinfo=KIRITIMATI).astimezone(UTC))
    text = pdf_text(Invoice.objects.get(org=org, kind=InvoiceKind.SUBSCRIPTION_START))
    assert pdf_line(text, "Period") == "Period Jan 1, 2026 – Feb 1, 2026"


def test_seat_proration_line_on_the_pdf_agrees_with_its_own_description():
    org = make_org(plan="team", timezone="Asia/Tokyo", currency="JPY",
                   clock_at=datetime(2026, 3, 31, 8, tzinfo=TOKYO).astimezone(UTC))
    org = advance(org, datetime(2026, 4, 2, 9, tzinfo=TOKYO).astimezone(UTC))
    add_member(org)  # a seat added on Apr 2, Tokyo time
    org = advance(org, datetime(2026, 4, 30, 9, tzinfo=TOKYO).astimezone(UTC))
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    line = renewal.lines.get(kind="seat_proration")
    assert line.description.startswith("1 seat added on Apr 2, 2026")
    text = pdf_text(renewal)
    # The line's period column must start on the day the description names, not the UTC day before it.
    assert pdf_line(text, "Apr ") == "Apr 2, 2026 – Apr 30, 2026 1 ¥1,680 ¥1,680"
