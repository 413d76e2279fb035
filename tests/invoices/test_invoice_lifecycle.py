from datetime import UTC, datetime, timedelta

import pytest

from billing_portal.audit.services import Actor
from billing_portal.core.errors import Conflict, InvalidInput
from billing_portal.core.money import Money
from billing_portal.subscriptions.periods import Period
from invoices.models import InvoiceEvent, InvoiceLine, InvoiceSequence, InvoiceStatus, LineKind
from invoices.services import (
    LineSpec,
    invoice_create_draft,
    invoice_finalize,
    invoice_issue,
    invoice_record_failure,
    invoice_record_payment,
    invoice_void,
)
from tests.concurrency import run_concurrently
from tests.factories import make_org

ACTOR = Actor.system("tests")
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
PERIOD = Period(NOW, NOW + timedelta(days=31))


def lines(currency="USD"):
    return [
        LineSpec(LineKind.PLAN, "Team plan", Money(4_900, currency), period=PERIOD),
        LineSpec(LineKind.SEATS, "Seats", Money(1_200, currency), quantity=3, period=PERIOD),
        LineSpec(LineKind.PLAN_PRORATION, "Unused time on Starter", Money(-733, currency)),
    ]


@pytest.mark.django_db
def test_draft_has_no_number_and_finalize_freezes_buyer_and_totals():
    org = make_org(clock_at=NOW)
    org.tax_id = "DE123456789"
    org.country = "DE"
    org.billing_address = "Unter den Linden 1\nBerlin"
    org.save()
    draft = invoice_create_draft(org=org, kind="manual", currency="USD", lines=lines(), period=PERIOD, actor=ACTOR)
    assert draft.number is None and draft.status == InvoiceStatus.DRAFT
    invoice = invoice_finalize(invoice=draft, actor=ACTOR)
    assert invoice.number == "BP-2026-000001"
    assert invoice.subtotal == 4_900 + 3 * 1_200 - 733 == sum(invoice.lines.values_list("amount", flat=True))
    assert (invoice.tax_name, invoice.tax_rate_bp) == ("VAT", 1_900)
    assert invoice.tax == 1_476  # 19% of 7,767 = 1,475.73
    assert invoice.total == invoice.subtotal + invoice.tax
    assert (invoice.tax_id, invoice.billing_email, invoice.country) == ("DE123456789", org.billing_email, "DE")
    # Later changes to the org do not touch the finalized invoice.
    org.tax_id = "DE999"
    org.save()
    invoice.refresh_from_db()
    assert invoice.tax_id == "DE123456789"
    assert list(InvoiceEvent.objects.filter(invoice=invoice).values_list("kind", flat=True)) == ["created", "finalized"]
    with pytest.raises(Conflict):
        invoice_finalize(invoice=invoice, actor=ACTOR)


@pytest.mark.django_db
def test_zero_decimal_currency_totals():
    org = make_org(clock_at=NOW, currency="JPY")
    org.country = "JP"
    org.save()
    invoice = invoice_issue(org=org, kind="manual", currency="JPY", lines=lines("JPY"), period=PERIOD, actor=ACTOR)
    assert invoice.subtotal == 7_767
    assert invoice.tax == 777  # 10% JCT, rounded to the yen
    assert invoice.money("total").format() == "¥8,544"


@pytest.mark.django_db
def test_lines_must_share_the_invoice_currency():
    org = make_org(clock_at=NOW)
    with pytest.raises(InvalidInput):
        invoice_create_draft(org=org, kind="manual", currency="USD", lines=lines("EUR"), period=PERIOD, actor=ACTOR)
    assert not InvoiceLine.objects.exists()


@pytest.mark.django_db
def test_payment_failure_retries_then_void():
    org = make_org(clock_at=NOW)
    invoice = invoice_issue(org=org, kind="manual", currency="USD", lines=lines(), period=PERIOD, actor=ACTOR)
    failed = invoice_record_failure(invoice=invoice, actor=ACTOR, code="card_declined", message="Declined")
    assert failed.status == InvoiceStatus.PAST_DUE
    assert failed.next_payment_attempt_at == NOW + timedelta(days=1)
    for expected in (NOW + timedelta(days=3), NOW + timedelta(days=5), None):
        failed = invoice_record_failure(invoice=failed, actor=ACTOR, code="card_declined", message="Declined")
        assert failed.next_payment_attempt_at == expected
    paid = invoice_record_payment(invoice=failed, amount=failed.amount_due, actor=ACTOR)
    assert paid.status == InvoiceStatus.PAID and paid.amount_due == Money(0, "USD")
    with pytest.raises(Conflict):
        invoice_void(invoice=paid, actor=ACTOR, reason="too late")


@pytest.mark.django_db
def test_zero_total_invoice_is_paid_on_finalization():
    org = make_org(clock_at=NOW)
    invoice = invoice_issue(
        org=org, kind="manual", currency="USD",
        lines=[LineSpec(LineKind.PLAN, "Trial", Money(0, "USD"))], period=PERIOD, actor=ACTOR,
    )
    assert invoice.status == InvoiceStatus.PAID and invoice.number


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizations_get_gap_free_unique_numbers():
    org = make_org(clock_at=NOW)
    drafts = [
        invoice_create_draft(org=org, kind="manual", currency="USD", lines=lines(), period=PERIOD, actor=ACTOR)
        for _ in range(24)
    ]
    results = run_concurrently(lambda i: invoice_finalize(invoice=drafts[i], actor=ACTOR).number, len(drafts))
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert sorted(results) == [f"BP-2026-{n:06d}" for n in range(1, 25)]
    assert InvoiceSequence.objects.get(key="2026").last_value == 24
