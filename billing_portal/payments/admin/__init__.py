"""Read-only views for support: payment methods, charges, refunds, the Stripe price mapping and Stripe event
ledger; and dj-stripe's webhook deliveries, where finance reprocesses a failed one.

Every list searches by the org and by Stripe customer id (dj-stripe links each customer to its org).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from djstripe.admin.admin import WebhookEventTriggerAdmin
from djstripe.models import WebhookEventTrigger

from billing_portal.core.admin import AppendOnlyAdmin, OperationsAdmin, money_column
from billing_portal.payments.admin.operations import REPROCESS
from billing_portal.payments.admin.stripe_mirror import stripe_admins_restrict
from billing_portal.payments.models import Charge, PaymentMethod, Refund, StripeEventReceipt, StripePrice

STRIPE_CUSTOMER = "org__djstripe_customers__id"


@admin.register(PaymentMethod)
class PaymentMethodAdmin(AppendOnlyAdmin):
    list_display = ["org", "__str__", "provider", "expiry", "is_default", "created_at", "detached_at"]
    list_filter = ["provider", "kind", "is_default"]
    search_fields = ["org__name", "org__slug", "last4", "stripe_payment_method_id", STRIPE_CUSTOMER]
    list_select_related = ["org"]
    date_hierarchy = "created_at"


@admin.register(Charge)
class ChargeAdmin(AppendOnlyAdmin):
    list_display = [
        "created_at",
        "org",
        "invoice",
        "amount_shown",
        "status",
        "failure_code",
        "provider",
        "on_session",
    ]
    list_filter = ["status", "provider", "currency", "on_session", "failure_code"]
    search_fields = [
        "org__name",
        "org__slug",
        "invoice__number",
        "provider_reference",
        "idempotency_key",
        STRIPE_CUSTOMER,
    ]
    list_select_related = ["org", "invoice"]
    date_hierarchy = "created_at"
    amount_shown = money_column("amount")


@admin.register(StripePrice)
class StripePriceAdmin(AppendOnlyAdmin):
    list_display = [
        "lookup_key",
        "plan",
        "currency",
        "interval",
        "component",
        "unit_amount",
        "stripe_price_id",
        "is_current",
        "synced_at",
    ]
    list_filter = ["is_current", "component", "interval", "currency", "plan"]
    search_fields = ["lookup_key", "stripe_price_id", "stripe_product_id", "plan__code"]
    list_select_related = ["plan"]


@admin.register(StripeEventReceipt)
class StripeEventReceiptAdmin(AppendOnlyAdmin):
    list_display = ["stripe_created", "event_type", "event_id", "stripe_object_id", "org", "outcome", "note"]
    list_filter = ["outcome", "event_type"]
    search_fields = ["event_id", "stripe_object_id", "stripe_customer_id", "org__name", "org__slug"]
    list_select_related = ["org"]
    date_hierarchy = "stripe_created"


@admin.register(Refund)
class RefundAdmin(AppendOnlyAdmin):
    list_display = ["created_at", "org", "invoice", "amount_shown", "reason", "provider_reference",
                    "refunded_by"]  # fmt: skip
    list_filter = ["provider", "currency"]
    search_fields = ["org__name", "org__slug", "invoice__number", "provider_reference", "reason",
                     STRIPE_CUSTOMER]  # fmt: skip
    list_select_related = ["org", "invoice", "refunded_by"]
    date_hierarchy = "created_at"
    amount_shown = money_column("amount")


admin.site.unregister(WebhookEventTrigger)


@admin.register(WebhookEventTrigger)
class WebhookDeliveryAdmin(OperationsAdmin, WebhookEventTriggerAdmin):
    """dj-stripe's record of each webhook delivery; a failed one (not processed, with an exception) can be
    reprocessed by staff holding payments.reprocess_stripe_event, who may see this list for that reason."""

    operations = (REPROCESS,)

    def _may_reprocess(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REPROCESS.permission)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or self._may_reprocess(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) or self._may_reprocess(request)


stripe_admins_restrict(admin.site)
