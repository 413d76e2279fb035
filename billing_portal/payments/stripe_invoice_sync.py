"""Stripe invoices mirrored into the portal's invoices, with Stripe's number, amounts and lines unchanged.

Status: draft, open, paid, void and uncollectible keep their names; an open invoice whose payment Stripe has
attempted (and so failed) is past due. Lines are copied while the mirror is a draft and once more when Stripe
finalizes it; after that they never change, as with the portal's own invoices. Each status step adds an
InvoiceEvent, and a finalized invoice's PDF is (re)rendered by Celery after commit. Per invoice, an event
older than one already applied changes nothing.

`next_payment_attempt_at` stays empty on mirrors: Stripe retries its own invoices, the portal's dunning must
not.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from djstripe.models import Invoice as StripeInvoice

from accounts.models import Organization
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.queueing import enqueue_on_commit
from billing_portal.payments import stripe_adapter
from billing_portal.payments.models import PriceComponent
from billing_portal.payments.stripe_catalog import mapped_prices
from billing_portal.payments.stripe_events import (
    Outcome,
    StripeEventRef,
    applied,
    ignored,
    newer_event_applied,
    org_for_customer,
    stale,
)
from billing_portal.payments.stripe_objects import line_is_proration, line_price_id, moment, stripe_id
from billing_portal.payments.tasks import stripe_invoice_lines_complete
from billing_portal.subscriptions.models import Subscription
from invoices.models import (
    Invoice,
    InvoiceEvent,
    InvoiceEventKind,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from invoices.tasks import render_invoice_pdf

LINE_KINDS = {
    (PriceComponent.BASE, False): LineKind.PLAN,
    (PriceComponent.BASE, True): LineKind.PLAN_PRORATION,
    (PriceComponent.SEAT, False): LineKind.SEATS,
    (PriceComponent.SEAT, True): LineKind.SEAT_PRORATION,
}
STATUS_EVENTS = {
    InvoiceStatus.PAID: InvoiceEventKind.PAID,
    InvoiceStatus.VOID: InvoiceEventKind.VOIDED,
    InvoiceStatus.UNCOLLECTIBLE: InvoiceEventKind.UNCOLLECTIBLE,
}


def _status(data: dict[str, Any]) -> str:
    status = str(data.get("status") or InvoiceStatus.DRAFT)
    if status == InvoiceStatus.OPEN and data.get("attempted") and int(data.get("attempt_count") or 0) > 0:
        return InvoiceStatus.PAST_DUE
    return status


def _subscription_id(data: dict[str, Any]) -> str:
    details = (data.get("parent") or {}).get("subscription_details") or {}
    return stripe_id(details.get("subscription") or data.get("subscription"))


def _address(address: dict[str, Any] | None) -> str:
    address = address or {}
    city_line = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
    parts = (
        address.get("line1"),
        address.get("line2"),
        city_line,
        address.get("state"),
        address.get("country"),
    )
    return "\n".join(part for part in parts if part)


def _tax_id(data: dict[str, Any]) -> str:
    typed = [tax.get("value") for tax in data.get("customer_tax_ids") or [] if tax.get("value")]
    fields = [
        field.get("value")
        for field in data.get("custom_fields") or []
        if field.get("name") == stripe_adapter.TAX_ID_FIELD
    ]
    return str((typed or fields or [""])[0])


def _lines(lines: list[dict[str, Any]]) -> list[InvoiceLine]:
    prices = mapped_prices([line_price_id(line) for line in lines])
    rows = []
    for position, line in enumerate(lines, start=1):
        price = prices.get(line_price_id(line))
        unit = (line.get("pricing") or {}).get("unit_amount_decimal")
        period = line.get("period") or {}
        rows.append(
            InvoiceLine(
                position=position,
                kind=LINE_KINDS.get(
                    (price.component if price else PriceComponent.BASE, line_is_proration(line)),
                    LineKind.PLAN,
                ),
                description=str(line.get("description") or "")[:300],
                quantity=int(line.get("quantity") or 1),
                unit_amount=int(float(unit)) if unit is not None and float(unit).is_integer() else None,
                amount=int(line["amount"]),
                period_start=moment(period.get("start")),
                period_end=moment(period.get("end")),
            )
        )
    return rows


def _header(invoice: Invoice, data: dict[str, Any], org: Organization) -> None:
    lines = (data.get("lines") or {}).get("data") or []
    starts = [line["period"]["start"] for line in lines if line.get("period")]
    ends = [line["period"]["end"] for line in lines if line.get("period")]
    transitions = data.get("status_transitions") or {}
    invoice.currency = str(data["currency"]).upper()
    invoice.number = data.get("number") or None
    invoice.status = _status(data)
    invoice.period_start = moment(min(starts) if starts else data.get("period_start")) or invoice.created_at
    invoice.period_end = moment(max(ends) if ends else data.get("period_end")) or invoice.created_at
    invoice.issued_at = moment(transitions.get("finalized_at"))
    invoice.due_at = moment(data.get("due_date")) or invoice.issued_at
    invoice.paid_at = moment(transitions.get("paid_at"))
    if invoice.issued_at and not invoice.seller:  # as finalized; later events leave it as it was
        invoice.seller = dict(settings.BILLING_SELLER)
    invoice.billed_name = str(data.get("customer_name") or org.name)
    invoice.timezone = org.timezone
    invoice.billing_email = str(data.get("customer_email") or "")
    invoice.tax_id = _tax_id(data)
    invoice.billing_address = _address(data.get("customer_address"))
    invoice.country = str((data.get("customer_address") or {}).get("country") or "")
    invoice.subtotal = int(data.get("subtotal") or 0)
    invoice.tax = sum(int(tax["amount"]) for tax in data.get("total_taxes") or [])
    invoice.total = int(data.get("total") or 0)
    # The customer's Stripe balance it spent: Stripe asks for amount_due, which is the total less that credit.
    invoice.credit_applied = max(invoice.total - int(data.get("amount_due", invoice.total) or 0), 0)
    invoice.amount_paid = int(data.get("amount_paid") or 0)
    invoice.attempt_count = int(data.get("attempt_count") or 0)
    invoice.memo = str(data.get("description") or "")


def _locked_mirror(data: dict[str, Any], org: Organization) -> tuple[Invoice, bool]:
    """Our mirror of this Stripe invoice, locked; created (as a draft) on first sight."""
    rows = Invoice.objects.select_for_update()
    mirror = rows.filter(stripe_invoice_id=data["id"]).first()
    if mirror is not None:
        return mirror, False
    created = moment(data.get("created")) or clock.now(org=org)
    try:
        with transaction.atomic():
            mirror = Invoice.objects.create(
                org=org,
                kind=InvoiceKind.STRIPE,
                stripe_invoice_id=data["id"],
                currency=str(data["currency"]).upper(),
                period_start=created,
                period_end=created,
                created_at=created,
                subscription=Subscription.objects.filter(
                    org=org, stripe_subscription_id=_subscription_id(data)
                )
                .exclude(stripe_subscription_id="")
                .first(),
            )
    except IntegrityError:  # a concurrent delivery created it first
        return rows.get(stripe_invoice_id=data["id"]), False
    return mirror, True


def _events(invoice: Invoice, before: str | None, attempts_before: int, event: StripeEventRef) -> list[str]:
    kinds = [InvoiceEventKind.CREATED] if before is None else []
    if before in (None, InvoiceStatus.DRAFT) and invoice.status != InvoiceStatus.DRAFT:
        kinds.append(InvoiceEventKind.FINALIZED)
    kinds += [InvoiceEventKind.PAYMENT_FAILED] * max(
        invoice.attempt_count - attempts_before - (1 if invoice.status == InvoiceStatus.PAID else 0), 0
    )
    if invoice.status != before and invoice.status in STATUS_EVENTS:
        kinds.append(STATUS_EVENTS[invoice.status])
    InvoiceEvent.objects.bulk_create(
        InvoiceEvent(
            invoice=invoice,
            kind=kind,
            at=clock.now(org=invoice.org),
            actor_label=event.id,
            data={"stripe_event": event.id, "status": invoice.status, "attempt": invoice.attempt_count},
        )
        for kind in kinds
    )
    return kinds


def _replace_lines(invoice: Invoice, lines: list[dict[str, Any]]) -> None:
    invoice.lines.all().delete()
    rows = _lines(lines)
    for row in rows:
        row.invoice = invoice
    InvoiceLine.objects.bulk_create(rows)


def invoice_from_stripe(event: StripeEventRef) -> Outcome:
    if event.type == "invoice.deleted":
        # Stripe deletes only drafts; the mirror of a draft goes with it.
        draft = (
            Invoice.objects.select_for_update(of=("self",)).select_related("org")
            .filter(stripe_invoice_id=event.object_id, status=InvoiceStatus.DRAFT).first()
        )
        if draft is None:
            return ignored("no draft mirror")
        audit_record(
            org=draft.org,
            actor=Actor.stripe(event.id),
            action="invoice.stripe_deleted",
            target=draft,
            before={"status": InvoiceStatus.DRAFT, "total": draft.total},
        )
        draft.delete()
        return applied(draft.org, "draft deleted")
    row = StripeInvoice.objects.filter(id=event.object_id).first()
    if row is None:
        return ignored("not stored by dj-stripe")
    data = row.stripe_data
    org = org_for_customer(stripe_id(data.get("customer"))) or (
        Organization.objects.filter(subscription__stripe_subscription_id=_subscription_id(data))
        .exclude(subscription__stripe_subscription_id="")
        .first()
    )
    if org is None:
        return ignored("no organization for this customer")
    invoice, is_new = _locked_mirror(data, org)
    if not is_new and newer_event_applied(event):
        return stale(org)
    before = None if is_new else invoice.status
    attempts_before = 0 if is_new else invoice.attempt_count
    _header(invoice, data, org)
    invoice.save()
    lines_page = data.get("lines") or {}
    if before in (None, InvoiceStatus.DRAFT):
        _replace_lines(invoice, lines_page.get("data") or [])
        if lines_page.get("has_more"):
            enqueue_on_commit(stripe_invoice_lines_complete, event.object_id, run_here_if_down=True)
    kinds = _events(invoice, before, attempts_before, event)
    if invoice.status != before:
        audit_record(
            org=org,
            actor=Actor.stripe(event.id),
            action=f"invoice.stripe_{invoice.status}",
            target=invoice,
            before={"status": before},
            after={"status": invoice.status, "total": invoice.total, "amount_paid": invoice.amount_paid},
        )
    if invoice.is_finalized and kinds:
        enqueue_on_commit(render_invoice_pdf, invoice.pk)
    return applied(org)


def invoice_lines_complete(*, stripe_invoice_id: str) -> None:
    """Copy every line of a long Stripe invoice (its webhook object carries only the first page)."""
    lines = stripe_adapter.invoice_lines(stripe_invoice_id)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(stripe_invoice_id=stripe_invoice_id).first()
        if invoice is not None and invoice.lines.count() < len(lines):
            _replace_lines(invoice, lines)
            enqueue_on_commit(render_invoice_pdf, invoice.pk)
