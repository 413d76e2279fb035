"""Payment operations: refunds (on an invoice), re-syncing an org from Stripe, reprocessing webhooks."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from djstripe.models import WebhookEventTrigger

from accounts.models import Organization
from billing_portal.audit.services import Actor
from billing_portal.core.admin import Operation, OperationForm, money_input
from billing_portal.core.money import Money, sum_money
from billing_portal.payments.models import Charge, ChargeStatus, Refund
from billing_portal.payments.providers import get_provider
from billing_portal.payments.refunds import charge_refund, charge_refundable
from billing_portal.payments.stripe_customers import stripe_customer_id
from billing_portal.payments.stripe_resync import org_stripe_resync, stripe_webhook_reprocess
from invoices.models import Invoice

REASON = {"max_length": 300, "widget": forms.Textarea(attrs={"rows": 2, "cols": 60})}


class ChargeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Charge) -> str:
        left = charge_refundable(obj).format()
        return f"{Money(obj.amount, obj.currency).format()} on {obj.created_at:%Y-%m-%d} ({left} refundable)"


class RefundForm(OperationForm):
    obj: Invoice
    charge = ChargeChoice(Charge.objects.none(), empty_label=None, help_text="The payment to refund.")
    amount = forms.CharField(
        help_text="In the invoice's currency, e.g. 12.50: all or part of what is refundable."
    )
    reason = forms.CharField(**REASON)
    # One per form: a double submit refunds once.
    key = forms.CharField(widget=forms.HiddenInput, max_length=Refund._meta.get_field("idempotency_key").max_length)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        charges = Charge.objects.filter(invoice=self.obj, status=ChargeStatus.SUCCEEDED).order_by(
            "-created_at"
        )
        self.fields["charge"].queryset = charges
        self.fields["key"].initial = f"refund:{uuid.uuid4().hex}"
        first = charges.first()
        self.fields["amount"].initial = charge_refundable(first).major if first else ""

    def summary(self) -> list[tuple[str, Any]]:
        invoice = self.obj
        refunded = sum_money([Money(r.amount, r.currency) for r in invoice.refunds.all()], invoice.currency)
        return [
            (
                "Invoice",
                f"{invoice}: total {invoice.money('total').format()}, "
                f"paid {invoice.money('amount_paid').format()}",
            ),
            ("Refunded so far", refunded.format()),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        charge, amount = data.get("charge"), data.get("amount")
        if charge is not None and amount:
            try:
                data["amount"] = money_input(amount, charge.currency)
            except forms.ValidationError as error:
                self.add_error("amount", error)
        return data

    def run(self, actor: Actor) -> str:
        data = self.cleaned_data
        refund = charge_refund(
            charge=data["charge"],
            amount=data["amount"],
            reason=data["reason"],
            actor=actor,
            idempotency_key=data["key"],
        )
        amount = Money(refund.amount, refund.currency).format()
        return f"Refunded {amount} of {self.obj} ({refund.provider_reference})."


class ResyncForm(OperationForm):
    obj: Organization

    def summary(self) -> list[tuple[str, Any]]:
        return [
            ("Stripe customer", stripe_customer_id(self.obj) or "none"),
            ("Stripe subscription", self.obj.subscription.stripe_subscription_id or "none"),
        ]

    def run(self, actor: Actor) -> str:
        outcomes = org_stripe_resync(org=self.obj, actor=actor)
        done = (
            ", ".join(f"{outcome}: {count}" for outcome, count in sorted(outcomes.items())) or "nothing found"
        )
        return f"Re-read {self.obj} from Stripe ({done})."


class ReprocessForm(OperationForm):
    obj: WebhookEventTrigger

    def summary(self) -> list[tuple[str, Any]]:
        body = self.obj.json_body
        return [
            ("Event", f"{body.get('type', '?')} {body.get('id', '?')}"),
            ("Received", self.obj.created),
            ("Failed with", self.obj.exception or "—"),
        ]

    def run(self, actor: Actor) -> str:
        outcome = stripe_webhook_reprocess(trigger=self.obj, actor=actor)
        return f"Delivery {self.obj.pk} processed: {outcome}."


REFUND = Operation(
    "refund",
    "Refund",
    "payments.refund_charge",
    RefundForm,
    applies=lambda invoice: invoice.charges.filter(status=ChargeStatus.SUCCEEDED).exists(),
)
RESYNC_STRIPE = Operation(
    "resync-stripe",
    "Re-sync from Stripe",
    "payments.resync_stripe",
    ResyncForm,
    applies=lambda org: get_provider().bills_subscriptions,
)
REPROCESS = Operation(
    "reprocess",
    "Reprocess",
    "payments.reprocess_stripe_event",
    ReprocessForm,
    applies=lambda trigger: trigger.valid and not trigger.processed,
)
