"""Input and output shapes of the /api/billing endpoints: a small pair per endpoint, money in minor units."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from billing_portal.catalog.models import CreditModel, Interval, Plan, PlanPrice
from billing_portal.catalog.selectors import plan_features, plan_quotas
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.selectors import next_charge
from invoices.account_credit import account_credit_balance
from invoices.models import Invoice, InvoiceKind, InvoiceStatus, LineKind

# --- Errors: the one shape of every 4xx and 5xx --------------------------------------------------

_ERROR_MEANINGS = {
    400: "Invalid input; `fields` names each bad field.",
    401: "No API key, or an unknown or revoked one.",
    402: "Metered work is paused until a payment method is added.",
    403: "The key lacks the scope, the role does not allow it, or a plan limit is reached.",
    404: "No such object in this organization, or no such page.",
    409: "The state changed meanwhile; read it again and retry.",
    429: "Too many requests; retry after the seconds in `Retry-After`.",
    503: "The database or the payment provider is briefly unavailable; retry shortly.",
}
# What any call that needs a key (or a signed-in session) may answer.
AUTHENTICATED_ERRORS = (401, 403, 429)


class ErrorBodyOut(serializers.Serializer):
    code = serializers.CharField(help_text="For machines: `invalid`, `contact_sales`, `rate_limited`, ...")
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="The problems of each bad input field.")


class ErrorOut(serializers.Serializer):
    error = ErrorBodyOut()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """An endpoint's documented error answers, all in the one error shape."""
    return {status: OpenApiResponse(ErrorOut, description=_ERROR_MEANINGS[status]) for status in statuses}


class MoneyOut(serializers.Serializer):
    amount = serializers.IntegerField(help_text="Minor units: cents, or whole yen for JPY.")
    currency = serializers.CharField(help_text="ISO 4217 code.")


@extend_schema_field(MoneyOut)
class MinorUnitsField(serializers.Field):
    """An integer amount column shown as money, in the currency of its invoice."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        return instance

    def to_representation(self, instance: Any) -> dict[str, Any] | None:
        amount = getattr(instance, self.field_name)
        if amount is None:
            return None
        invoice = instance if isinstance(instance, Invoice) else instance.invoice
        return {"amount": amount, "currency": invoice.currency}


# --- GET /api/billing ----------------------------------------------------------------------------


class ScheduledChangeOut(serializers.Serializer):
    plan_tier = serializers.CharField(source="scheduled_plan.code")
    billing_interval = serializers.ChoiceField(choices=Interval.choices, source="scheduled_interval")
    effective_at = serializers.DateTimeField(source="current_period_end")


class NextChargeOut(serializers.Serializer):
    at = serializers.DateTimeField()
    amount = MoneyOut()
    description = serializers.CharField()


class BillingOut(serializers.Serializer):
    plan_tier = serializers.CharField(source="plan.code")
    plan_name = serializers.CharField(source="plan.name")
    status = serializers.ChoiceField(choices=Status.choices)
    billing_interval = serializers.ChoiceField(choices=Interval.choices, source="interval")
    currency = serializers.CharField()
    current_period_start = serializers.DateTimeField()
    current_period_end = serializers.DateTimeField()
    trial_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField(help_text="Canceled: moves to Free when the period ends.")
    scheduled_change = serializers.SerializerMethodField(help_text="A downgrade waiting for the period end.")
    seats = serializers.IntegerField(source="seat_quantity")
    recurring_price = MoneyOut(help_text="What one full period costs: base plus every seat.")
    next_charge = serializers.SerializerMethodField(help_text="Before tax and seat prorations.")
    account_credit = serializers.SerializerMethodField(
        help_text="What we owe the org (from invoices below zero), spent on its next invoices before any card."
    )

    @extend_schema_field(MoneyOut)
    def get_account_credit(self, subscription: Subscription) -> dict[str, Any]:
        return MoneyOut(account_credit_balance(subscription.org, subscription.currency)).data

    @extend_schema_field(ScheduledChangeOut(allow_null=True))
    def get_scheduled_change(self, subscription: Subscription) -> dict[str, Any] | None:
        if subscription.scheduled_plan is None:
            return None
        return ScheduledChangeOut(subscription).data

    @extend_schema_field(NextChargeOut(allow_null=True))
    def get_next_charge(self, subscription: Subscription) -> dict[str, Any] | None:
        charge = next_charge(subscription)
        return NextChargeOut(charge).data if charge else None


# --- GET /api/billing/plans ----------------------------------------------------------------------


class IntervalPriceOut(serializers.Serializer):
    base = MoneyOut()
    per_seat = MoneyOut()


def _interval_price(price: PlanPrice, interval: str) -> dict[str, Any]:
    return IntervalPriceOut({"base": price.base(interval), "per_seat": price.seat(interval)}).data


class PlanPriceOut(serializers.Serializer):
    currency = serializers.CharField()
    month = serializers.SerializerMethodField()
    year = serializers.SerializerMethodField()

    @extend_schema_field(IntervalPriceOut)
    def get_month(self, price: PlanPrice) -> dict[str, Any]:
        return _interval_price(price, Interval.MONTH)

    @extend_schema_field(IntervalPriceOut)
    def get_year(self, price: PlanPrice) -> dict[str, Any]:
        return _interval_price(price, Interval.YEAR)


class PlanLimitsOut(serializers.Serializer):
    members = serializers.IntegerField(allow_null=True, source="limit_members")
    spaces = serializers.IntegerField(allow_null=True, source="limit_spaces")
    concurrent_sessions = serializers.IntegerField(allow_null=True, source="limit_concurrent_sessions")
    storage_mb = serializers.IntegerField(allow_null=True, source="limit_storage_mb")


class PlanCreditsOut(serializers.Serializer):
    model = serializers.ChoiceField(choices=CreditModel.choices, source="credit_model")
    allotment = serializers.IntegerField(source="credit_allotment", help_text="Granted each cycle.")
    per_seat = serializers.IntegerField(source="credit_per_seat", help_text="Extra pooled credits per seat.")


class PlanOut(serializers.Serializer):
    tier = serializers.CharField(source="code")
    name = serializers.CharField()
    tagline = serializers.CharField()
    contact_sales = serializers.BooleanField(source="is_contact_sales", help_text="No self-serve checkout.")
    trial_days = serializers.IntegerField()
    prices = serializers.SerializerMethodField(help_text="Per currency; empty for contact-sales plans.")
    quotas = serializers.SerializerMethodField(help_text="Monthly quota per meter; null is unlimited.")
    grace_pct = serializers.IntegerField(help_text="Calls above a quota still succeed up to this percentage.")
    limits = PlanLimitsOut(source="*", help_text="null is unlimited.")
    credits = PlanCreditsOut(source="*")
    features = serializers.SerializerMethodField()

    @extend_schema_field(PlanPriceOut(many=True))
    def get_prices(self, plan: Plan) -> list[dict[str, Any]]:
        return [] if plan.is_contact_sales else PlanPriceOut(plan.prices.all(), many=True).data

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField(allow_null=True)))
    def get_quotas(self, plan: Plan) -> dict[str, int | None]:
        return plan_quotas(plan)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_features(self, plan: Plan) -> list[str]:
        return sorted(plan_features(plan))


# --- GET /api/billing/usage ----------------------------------------------------------------------


class PeriodOut(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class CountOut(serializers.Serializer):
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True, help_text="null is unlimited.")


METER_STATES = ["ok", "grace", "blocked"]


class MeterCountOut(CountOut):
    remaining = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=METER_STATES)


class UsageSummaryOut(serializers.Serializer):
    tier = serializers.CharField()
    period = PeriodOut(help_text="The current quota window.")
    usage = serializers.DictField(child=MeterCountOut(), help_text="Per meter, in the current window.")
    resource_counts = serializers.DictField(
        child=CountOut(), help_text="members (billed seats), spaces (writable ones), concurrent_sessions."
    )


# --- POST /api/billing/checkout and /api/billing/cancel -----------------------------------------


class CheckoutIn(serializers.Serializer):
    tier = serializers.CharField(max_length=40, help_text="A plan's `tier` from /api/billing/plans.")
    billing_interval = serializers.ChoiceField(choices=Interval.choices)
    success_url = serializers.URLField(max_length=2000, help_text="Where Stripe Checkout returns once paid.")
    cancel_url = serializers.URLField(max_length=2000, help_text="Where Stripe Checkout returns when left.")


class CheckoutOut(serializers.Serializer):
    url = serializers.URLField(help_text="Stripe Checkout, or the portal page where the owner confirms.")


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class CancelOut(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    effective_at = serializers.DateTimeField(help_text="When the organization moves to the Free plan.")


# --- Invoices ------------------------------------------------------------------------------------


class InvoiceListIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(value, label) for value, label in InvoiceStatus.choices if value != InvoiceStatus.DRAFT],
        required=False,
    )


class InvoiceOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(allow_null=True, help_text="Stripe-numbered invoices may have none.")
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    kind = serializers.ChoiceField(choices=InvoiceKind.choices)
    currency = serializers.CharField()
    total = MinorUnitsField()
    amount_due = MoneyOut()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    issued_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    pdf_url = serializers.SerializerMethodField()

    def get_pdf_url(self, invoice: Invoice) -> str:
        return self.context["request"].build_absolute_uri(reverse("api-invoice-pdf", args=[invoice.pk]))


class InvoiceLineOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LineKind.choices)
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_amount = MinorUnitsField(allow_null=True)
    amount = MinorUnitsField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)


class InvoiceDetailOut(InvoiceOut):
    subtotal = MinorUnitsField()
    tax = MinorUnitsField()
    tax_name = serializers.CharField()
    tax_rate_bp = serializers.IntegerField(help_text="Basis points: 1900 is 19%.")
    credit_applied = MinorUnitsField(help_text="Paid from the org's account credit.")
    amount_paid = MinorUnitsField()
    billed_name = serializers.CharField()
    billing_email = serializers.CharField()
    tax_id = serializers.CharField()
    billing_address = serializers.CharField()
    country = serializers.CharField()
    memo = serializers.CharField()
    lines = InvoiceLineOut(many=True)
