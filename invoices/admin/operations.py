"""Invoice operations: void an unpaid invoice, send it again, re-render its PDF."""

from __future__ import annotations

from typing import Any

from django import forms

from billing_portal.audit.services import Actor
from billing_portal.core.admin import Operation, OperationForm
from billing_portal.subscriptions.services.dunning import invoice_void_unpaid
from invoices.models import UNPAID_STATUSES, Invoice
from invoices.services import invoice_pdf_refresh, invoice_send


class InvoiceForm(OperationForm):
    obj: Invoice

    def summary(self) -> list[tuple[str, Any]]:
        invoice = self.obj
        return [
            (
                "Invoice",
                f"{invoice} for {invoice.org}: {invoice.get_status_display()}, "
                f"total {invoice.money('total').format()}, due {invoice.amount_due.format()}",
            ),
            ("Billing email", invoice.billing_email or "—"),
        ]


class VoidForm(InvoiceForm):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}))

    def clean(self) -> dict[str, Any]:
        if self.obj.stripe_invoice_id:
            raise forms.ValidationError(
                "Stripe bills this invoice: void it in Stripe, and its copy here follows."
            )
        return super().clean()

    def run(self, actor: Actor) -> str:
        invoice = invoice_void_unpaid(invoice=self.obj, actor=actor, reason=self.cleaned_data["reason"])
        return f"{invoice} is void; nothing more is collected on it."


class ResendForm(InvoiceForm):
    def run(self, actor: Actor) -> str:
        invoice = invoice_send(invoice=self.obj, actor=actor)
        return f"{invoice} was emailed to {invoice.billing_email} with its PDF."


class RerenderForm(InvoiceForm):
    def run(self, actor: Actor) -> str:
        if invoice_pdf_refresh(invoice=self.obj, actor=actor):
            return f"{self.obj}'s PDF was rendered again."
        return f"{self.obj}'s PDF already shows the invoice as it is; nothing to render."


VOID = Operation(
    "void",
    "Void",
    "invoices.void_invoice",
    VoidForm,
    applies=lambda invoice: invoice.status in UNPAID_STATUSES,
)
RESEND = Operation(
    "resend",
    "Email again",
    "invoices.resend_invoice",
    ResendForm,
    applies=lambda invoice: invoice.is_finalized,
)
RERENDER = Operation(
    "rerender-pdf",
    "Re-render PDF",
    "invoices.rerender_invoice_pdf",
    RerenderForm,
    applies=lambda invoice: invoice.is_finalized,
)
OPERATIONS = (VOID, RESEND, RERENDER)
