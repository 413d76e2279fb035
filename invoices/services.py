"""Invoice writes: drafts, finalization with gap-free numbers, payments, failures and voids.

A finalized invoice never changes its lines or amounts; later corrections are voids (for unpaid invoices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import Conflict, InvalidInput
from billing_portal.core.money import Money
from billing_portal.core.queueing import enqueue_on_commit
from billing_portal.subscriptions.periods import Period
from invoices.account_credit import account_credit_restore, account_credit_settle
from invoices.models import (
    UNPAID_STATUSES,
    Invoice,
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceLine,
    InvoiceSequence,
    InvoiceStatus,
    TaxRate,
)
from invoices.tasks import render_invoice_pdf

if TYPE_CHECKING:
    from accounts.models import Organization
    from billing_portal.subscriptions.models import Subscription

# Retry a failed payment after 1, 3 and 5 days; the last failure ends dunning.
RETRY_SCHEDULE = (timedelta(days=1), timedelta(days=3), timedelta(days=5))


@dataclass(frozen=True)
class LineSpec:
    """One invoice line; the amount is always quantity x unit amount."""

    kind: str
    description: str
    unit_amount: Money
    quantity: int = 1
    period: Period | None = None

    @property
    def amount(self) -> Money:
        return self.unit_amount * self.quantity


def invoice_event_record(invoice: Invoice, event_kind: str, actor: Actor, **data: Any) -> None:
    InvoiceEvent.objects.create(
        invoice=invoice, kind=event_kind, at=clock.now(org=invoice.org), actor_label=actor.label, data=data
    )


def invoice_create_draft(
    *,
    org: Organization,
    kind: str,
    currency: str,
    lines: Sequence[LineSpec],
    period: Period,
    actor: Actor,
    subscription: Subscription | None = None,
    memo: str = "",
) -> Invoice:
    if not lines:
        raise InvalidInput("An invoice needs at least one line.")
    for line in lines:
        if line.unit_amount.currency != currency:
            raise InvalidInput(f"Line {line.description!r} is in {line.unit_amount.currency}, not {currency}.")
    with transaction.atomic():
        invoice = Invoice.objects.create(
            org=org,
            subscription=subscription,
            kind=kind,
            currency=currency,
            period_start=period.start,
            period_end=period.end,
            created_at=clock.now(org=org),
            memo=memo,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                kind=line.kind,
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount.amount,
                amount=line.amount.amount,
                period_start=line.period.start if line.period else None,
                period_end=line.period.end if line.period else None,
            )
            for position, line in enumerate(lines, start=1)
        )
        invoice_event_record(invoice, InvoiceEventKind.CREATED, actor, kind=kind)
    return invoice


def _next_number(issued_at: datetime) -> str:
    """Take the next number of the year's sequence under a row lock (call inside a transaction)."""
    key = str(issued_at.year)
    InvoiceSequence.objects.bulk_create([InvoiceSequence(key=key)], ignore_conflicts=True)
    sequence = InvoiceSequence.objects.select_for_update().get(key=key)
    sequence.last_value += 1
    sequence.save(update_fields=["last_value"])
    prefix = getattr(settings, "INVOICE_NUMBER_PREFIX", "BP")
    return f"{prefix}-{key}-{sequence.last_value:06d}"


@dataclass(frozen=True)
class Tax:
    name: str
    rate_bp: int
    amount: Money


def invoice_tax(*, country: str, subtotal: Money) -> Tax:
    """The tax on a subtotal for a buyer in `country`: what finalization charges and previews show."""
    rate = TaxRate.objects.filter(country=country).first()
    if rate is None or subtotal.amount <= 0:
        return Tax(rate.name if rate else "", rate.rate_bp if rate else 0, Money.zero(subtotal.currency))
    return Tax(rate.name, rate.rate_bp, subtotal.percent_bp(rate.rate_bp))


def invoice_finalize(*, invoice: Invoice, actor: Actor, due_in: timedelta = timedelta(0)) -> Invoice:
    """Freeze the invoice: snapshot the seller and the buyer, compute tax and totals, and give it the next number."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("org").get(pk=invoice.pk)
        if invoice.status != InvoiceStatus.DRAFT:
            raise Conflict(f"Invoice {invoice} is already finalized.")
        org = invoice.org
        now = clock.now(org=org)
        invoice.subtotal = sum(invoice.lines.values_list("amount", flat=True))
        tax = invoice_tax(country=org.country, subtotal=invoice.money("subtotal"))
        invoice.tax_name, invoice.tax_rate_bp, invoice.tax = tax.name, tax.rate_bp, tax.amount.amount
        invoice.total = invoice.subtotal + invoice.tax
        invoice.seller = dict(settings.BILLING_SELLER)
        invoice.billed_name = org.name
        invoice.timezone = org.timezone
        invoice.billing_email = org.billing_email
        invoice.tax_id = org.tax_id
        invoice.billing_address = org.billing_address
        invoice.country = org.country
        invoice.issued_at = now
        invoice.due_at = now + due_in
        invoice.number = _next_number(now)
        invoice.status = InvoiceStatus.OPEN
        account_credit_settle(invoice=invoice, actor=actor)
        if invoice.amount_due.amount == 0:
            invoice.status, invoice.paid_at = InvoiceStatus.PAID, now
        invoice.save()
        invoice_event_record(invoice, InvoiceEventKind.FINALIZED, actor, number=invoice.number, total=invoice.total,
                             credit_applied=invoice.credit_applied)
        if invoice.status == InvoiceStatus.PAID:
            invoice_event_record(invoice, InvoiceEventKind.PAID, actor, amount=0)
        audit_record(org=org, actor=actor, action="invoice.finalized", target=invoice,
                     after={"number": invoice.number, "total": invoice.total, "status": invoice.status,
                            "credit_applied": invoice.credit_applied})
        enqueue_on_commit(render_invoice_pdf, invoice.pk)
    return invoice


def invoice_record_payment(*, invoice: Invoice, amount: Money, actor: Actor, reference: str = "") -> Invoice:
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in UNPAID_STATUSES:
            raise Conflict(f"Invoice {invoice} is {invoice.get_status_display().lower()}; nothing to pay.")
        before = invoice.status
        invoice.amount_paid += amount.amount
        if invoice.amount_due.amount == 0:
            invoice.status = InvoiceStatus.PAID
            invoice.paid_at = clock.now(org=invoice.org)
            invoice.next_payment_attempt_at = None
        invoice.save()
        invoice_event_record(invoice, InvoiceEventKind.PAID, actor, amount=amount.amount, reference=reference)
        audit_record(org=invoice.org, actor=actor, action="invoice.paid", target=invoice,
                     before={"status": before}, after={"status": invoice.status, "amount_paid": invoice.amount_paid})
        enqueue_on_commit(render_invoice_pdf, invoice.pk)
    return invoice


def invoice_record_failure(
    *, invoice: Invoice, actor: Actor, code: str, message: str, on_session: bool = False
) -> Invoice:
    """A failed attempt: the invoice is past due, with the next retry scheduled while retries remain.

    The first failure starts the retry schedule and only the scheduled retries move it on: the owner's own
    attempts in between (pay now, a new card) are recorded but use up no retry, so they can neither hasten the
    write-off nor leave the invoice past due with no retry to come.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in UNPAID_STATUSES:
            raise Conflict(f"Invoice {invoice} is not awaiting payment.")
        before = invoice.status
        if not (on_session and before == InvoiceStatus.PAST_DUE):
            invoice.attempt_count += 1
            invoice.status = InvoiceStatus.PAST_DUE
            retry_index = invoice.attempt_count - 1
            invoice.next_payment_attempt_at = (
                clock.now(org=invoice.org) + RETRY_SCHEDULE[retry_index] if retry_index < len(RETRY_SCHEDULE) else None
            )
            invoice.save()
        invoice_event_record(invoice, InvoiceEventKind.PAYMENT_FAILED, actor, code=code, message=message,
                             attempt=invoice.attempt_count, on_session=on_session)
        if before != InvoiceStatus.PAST_DUE:
            audit_record(org=invoice.org, actor=actor, action="invoice.past_due", target=invoice,
                         before={"status": before}, after={"status": invoice.status}, reason=message)
            enqueue_on_commit(render_invoice_pdf, invoice.pk)
    return invoice


def _close_unpaid(invoice: Invoice, *, status: str, event: str, actor: Actor, reason: str) -> Invoice:
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if invoice.status not in UNPAID_STATUSES:
            raise Conflict(f"Only open or past-due invoices can be {status}; {invoice} is {invoice.status}.")
        before = invoice.status
        invoice.status = status
        invoice.next_payment_attempt_at = None
        invoice.save()
        if status == InvoiceStatus.VOID:
            account_credit_restore(invoice=invoice, actor=actor)
        invoice_event_record(invoice, event, actor, reason=reason)
        audit_record(org=invoice.org, actor=actor, action=f"invoice.{status}", target=invoice,
                     before={"status": before}, after={"status": status}, reason=reason)
        enqueue_on_commit(render_invoice_pdf, invoice.pk)
    return invoice


def invoice_void(*, invoice: Invoice, actor: Actor, reason: str) -> Invoice:
    return _close_unpaid(invoice, status=InvoiceStatus.VOID, event=InvoiceEventKind.VOIDED, actor=actor, reason=reason)


def invoice_mark_uncollectible(*, invoice: Invoice, actor: Actor, reason: str) -> Invoice:
    return _close_unpaid(
        invoice, status=InvoiceStatus.UNCOLLECTIBLE, event=InvoiceEventKind.UNCOLLECTIBLE, actor=actor, reason=reason
    )


def invoice_issue(
    *,
    org: Organization,
    kind: str,
    currency: str,
    lines: Sequence[LineSpec],
    period: Period,
    actor: Actor,
    subscription: Subscription | None = None,
) -> Invoice:
    """Create and finalize in one step: what the local provider does for every charge it makes."""
    with transaction.atomic():
        draft = invoice_create_draft(
            org=org, kind=kind, currency=currency, lines=lines, period=period, actor=actor, subscription=subscription
        )
        return invoice_finalize(invoice=draft, actor=actor)


def invoice_send(*, invoice: Invoice, actor: Actor) -> Invoice:
    """Email the invoice's current PDF to the billing email it was issued to; in its history, and audited."""
    # invoices.pdf imports this module, so it is imported here.
    from invoices.pdf import invoice_document_name, invoice_pdf_open, invoice_render_pdf

    if not invoice.is_finalized:
        raise Conflict(f"{invoice} is a draft; only finalized invoices are sent.")
    if not invoice.billing_email:
        raise InvalidInput(f"{invoice} has no billing email to send it to.", code="no_billing_email")
    invoice = invoice_render_pdf(invoice=invoice, actor=actor)
    name = invoice_document_name(invoice)
    seller = invoice.seller_details["name"]
    body = (f"Hello {invoice.billed_name},\n\nplease find invoice {name} from {seller} attached (total "
            f"{invoice.money('total').format()}, amount due {invoice.amount_due.format()}).\n\n{seller}\n")
    subject = f"Invoice {name} from {seller}"
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [invoice.billing_email])
    with invoice_pdf_open(invoice) as pdf:
        message.attach(f"{name}.pdf", pdf.read(), "application/pdf")
    message.send()
    with transaction.atomic():
        invoice_event_record(invoice, InvoiceEventKind.SENT, actor, to=invoice.billing_email)
        audit_record(org=invoice.org, actor=actor, action="invoice.sent", target=invoice,
                     after={"to": invoice.billing_email, "number": invoice.number})
    return invoice


def invoice_pdf_refresh(*, invoice: Invoice, actor: Actor) -> bool:
    """Staff's re-render: the stored PDF is made again if stale or missing; audited. True when a file was made."""
    from invoices.pdf import invoice_render_pdf  # imported here: invoices.pdf imports this module

    before = Invoice.objects.values_list("pdf", flat=True).get(pk=invoice.pk)
    current = invoice_render_pdf(invoice=invoice, actor=actor)
    rendered = current.pdf.name != before
    audit_record(org=current.org, actor=actor, action="invoice.pdf_refreshed", target=current,
                 before={"file": before}, after={"file": current.pdf.name, "rendered": rendered})
    return rendered
