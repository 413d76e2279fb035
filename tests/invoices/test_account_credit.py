"""Account credit: an invoice below zero leaves the org credit, which its next invoices spend before any card."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum
from django.urls import reverse

from accounts.services import membership_remove
from billing_portal.audit.models import AuditEntry
from billing_portal.core.money import Money
from billing_portal.payments.models import Charge, TestCard
from billing_portal.payments.services import invoice_collect
from billing_portal.subscriptions.periods import Period
from billing_portal.subscriptions.services.changes import (
    subscription_cancel,
    subscription_change_plan,
    subscription_preview_change,
)
from invoices.account_credit import account_credit_balance
from invoices.models import AccountCredit, AccountCreditEntry, Invoice, InvoiceKind, InvoiceStatus, LineKind
from invoices.pdf import invoice_pdf_bytes
from invoices.services import LineSpec, invoice_issue, invoice_void
from tests.concurrency import run_concurrently
from tests.factories import TEST_ACTOR, add_member, issue_invoice, make_org, pdf_pages
from tests.subscriptions.helpers import ACTOR, advance, owner, plan

pytestmark = pytest.mark.django_db

JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
FEB10 = datetime(2026, 2, 10, tzinfo=UTC)
MAR10 = datetime(2026, 3, 10, tzinfo=UTC)


def line(major: int, currency: str = "USD") -> list[LineSpec]:
    return [LineSpec(LineKind.DISCOUNT if major < 0 else LineKind.PLAN, "Adjustment",
                     Money.from_major(major, currency))]


def usd(major: int) -> Money:
    return Money.from_major(major, "USD")


def test_an_invoice_below_zero_becomes_credit_that_the_next_invoices_spend_first():
    org = make_org(clock_at=JAN10, card=TestCard.SUCCEEDS)
    credit_note = issue_invoice(org, lines=line(-50))
    assert (credit_note.status, credit_note.amount_due) == (InvoiceStatus.PAID, usd(0))
    assert account_credit_balance(org, "USD") == usd(50)

    partly = issue_invoice(org, lines=line(30))
    assert (partly.status, partly.credit_applied, partly.amount_due) == (InvoiceStatus.PAID, 3000, usd(0))
    rest = issue_invoice(org, lines=line(45))
    assert (rest.status, rest.credit_applied, rest.amount_due) == (InvoiceStatus.OPEN, 2000, usd(25))
    assert account_credit_balance(org, "USD") == usd(0)
    assert invoice_collect(invoice=rest, actor=TEST_ACTOR).succeeded
    rest.refresh_from_db()
    assert (rest.status, rest.amount_paid) == (InvoiceStatus.PAID, 2500)
    assert Charge.objects.get(invoice=rest).amount == 2500  # the card paid only what the credit did not

    entries = AccountCreditEntry.objects.filter(account__org=org).order_by("id")
    assert [(e.kind, e.amount, e.balance_after) for e in entries] == [
        ("credited", 5000, 5000), ("applied", -3000, 2000), ("applied", -2000, 0)]
    assert [e.invoice_id for e in entries] == [credit_note.pk, partly.pk, rest.pk]
    assert list(AuditEntry.objects.filter(org=org, action__startswith="account_credit.")
                .values_list("action", flat=True).order_by("id")) == [
        "account_credit.credited", "account_credit.applied", "account_credit.applied"]


def test_voiding_an_invoice_gives_back_the_credit_it_spent_and_the_ledger_equals_the_balance():
    org = make_org(clock_at=JAN10)
    issue_invoice(org, lines=line(-20))
    unpaid = issue_invoice(org, lines=line(100))
    assert (unpaid.credit_applied, account_credit_balance(org, "USD")) == (2000, usd(0))
    invoice_void(invoice=unpaid, actor=TEST_ACTOR, reason="Issued by mistake")
    assert account_credit_balance(org, "USD") == usd(20)
    account = AccountCredit.objects.get(org=org)
    assert account.entries.aggregate(total=Sum("amount"))["total"] == account.balance
    assert account.entries.first().kind == "restored"


def test_credit_is_spent_only_in_its_own_currency():
    org = make_org(clock_at=JAN10)
    period = Period(JAN10, FEB10)
    invoice_issue(org=org, kind="manual", currency="EUR", lines=line(-20, "EUR"), period=period, actor=TEST_ACTOR)
    dollars = issue_invoice(org, lines=line(30))
    assert (dollars.credit_applied, dollars.amount_due) == (0, usd(30))
    assert account_credit_balance(org, "EUR") == Money.from_major(20, "EUR")


def _seats_removed_then_canceled() -> tuple:
    """Team with two extra seats, paid for February by the Feb 10 renewal; both leave on Feb 20 and the owner
    cancels: the renewal on Mar 10 moves the org to Free and credits the seats' unused days."""
    org = make_org(plan="team", clock_at=JAN10)
    members = [add_member(org), add_member(org)]
    org = advance(org, FEB10)
    org = advance(org, FEB10 + timedelta(days=10))
    for member in members:
        membership_remove(membership=member, by=owner(org))
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    org = advance(org, MAR10)
    return org, Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL, period_start=MAR10)


def test_seats_removed_before_a_cancellation_leave_credit_that_the_next_upgrade_spends():
    org, renewal = _seats_removed_then_canceled()
    assert org.subscription.plan.code == "free"
    assert renewal.total < 0 and renewal.status == InvoiceStatus.PAID
    assert account_credit_balance(org, "USD") == Money(-renewal.total, "USD")

    org = advance(org, MAR10 + timedelta(days=3))
    preview = subscription_preview_change(org=org, plan=plan("team"), interval="month", by=owner(org))
    assert preview.account_credit == Money(-renewal.total, "USD")
    assert preview.amount_due == preview.subtotal + preview.tax - preview.account_credit
    outcome = subscription_change_plan(org=org, plan=plan("team"), interval="month", by=owner(org), actor=ACTOR,
                                       proration_at=preview.proration_at, expected_amount=preview.amount_due)
    assert outcome.applied
    assert outcome.invoice.credit_applied == -renewal.total
    assert Charge.objects.get(invoice=outcome.invoice).amount == preview.amount_due.amount
    assert account_credit_balance(org, "USD") == usd(0)


def test_the_pdf_prints_the_credit_added_and_the_credit_spent():
    org = make_org(clock_at=JAN10)
    credit_note = issue_invoice(org, lines=line(-50))
    spent = issue_invoice(org, lines=line(80))
    note_text = "\n".join(pdf_pages(invoice_pdf_bytes(invoice=credit_note)))
    assert "Added to your account credit" in note_text and "$50.00" in note_text
    spent_text = "\n".join(pdf_pages(invoice_pdf_bytes(invoice=spent)))
    assert "Account credit applied" in spent_text and "-$50.00" in spent_text
    assert "Amount due" in spent_text and "$30.00" in spent_text


def test_the_portal_and_the_api_show_the_account_credit(client):
    org, renewal = _seats_removed_then_canceled()
    credit = Money(-renewal.total, "USD").format()
    client.force_login(owner(org).user)
    for page in ("portal:overview", "portal:invoices"):
        assert credit in client.get(reverse(page)).content.decode(), page
    billing = client.get(reverse("api-billing")).json()
    assert billing["account_credit"] == {"amount": -renewal.total, "currency": "USD"}
    org = advance(org, MAR10 + timedelta(days=3))
    page = client.get(reverse("portal:plan-change"), {"plan": "team", "interval": "month"}).content.decode()
    assert "Account credit applied" in page and credit in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_invoices_finalized_at_once_spend_the_credit_once():
    """Eight invoices of $30 against $100 of credit, finalized by eight threads at once: $100 is spent in all,
    never more, and the balance never goes below zero."""
    org = make_org(clock_at=JAN10)
    issue_invoice(org, lines=line(-100))
    results = run_concurrently(lambda _: issue_invoice(org, lines=line(30)), 8)
    assert not [r for r in results if isinstance(r, BaseException)], results
    applied = sorted(invoice.credit_applied for invoice in results)
    assert sum(applied) == 10_000 and applied[-4:] == [1000, 3000, 3000, 3000], applied
    account = AccountCredit.objects.get(org=org)
    assert account.balance == 0 == account.entries.aggregate(total=Sum("amount"))["total"]
