"""Stripe objects and signed webhook deliveries, shaped as Stripe sends them at the pinned API version."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time
from collections.abc import Callable
from typing import Any

from djstripe.models import WebhookEndpoint

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
API_VERSION = "2026-08-26.dahlia"
# The current period, around real time: Stripe's clock (not an org's test clock) decides what is current.
PERIOD_START = int(time.time()) // 86_400 * 86_400 - 10 * 86_400
PERIOD_END = PERIOD_START + 30 * 86_400
_ids = itertools.count(1)


def subscription(
    *,
    sub_id: str,
    customer: str,
    items: list[tuple[dict[str, Any], int]],
    org_id: int,
    status: str = "active",
    start: int = PERIOD_START,
    end: int = PERIOD_END,
    cancel_at_period_end: bool = False,
    trial_end: int | None = None,
    schedule: str | None = None,
) -> dict[str, Any]:
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "currency": "usd",
        "metadata": {"org_id": str(org_id)},
        "cancel_at_period_end": cancel_at_period_end,
        "trial_end": trial_end,
        "billing_cycle_anchor": start,
        "schedule": schedule,
        "livemode": False,
        "created": start,
        "start_date": start,
        "default_payment_method": None,
        "latest_invoice": None,
        "items": {
            "object": "list",
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
            "data": [
                {
                    "id": f"si_{sub_id}_{index}",
                    "object": "subscription_item",
                    "price": price,
                    "quantity": quantity,
                    "subscription": sub_id,
                    "current_period_start": start,
                    "current_period_end": end,
                    "created": start,
                    "metadata": {},
                    "tax_rates": [],
                }
                for index, (price, quantity) in enumerate(items)
            ],
        },
    }


def line(
    *,
    price: dict[str, Any],
    amount: int,
    quantity: int,
    description: str,
    start: int = PERIOD_START,
    end: int = PERIOD_END,
    proration: bool = False,
) -> dict[str, Any]:
    return {
        "id": f"il_{next(_ids)}",
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": description,
        "quantity": quantity,
        "period": {"start": start, "end": end},
        "pricing": {
            "type": "price_details",
            "unit_amount_decimal": str(price["unit_amount"]),
            "price_details": {"price": price["id"], "product": price["product"]},
        },
        "parent": {
            "type": "subscription_item_details",
            "subscription_item_details": {
                "proration": proration,
                "subscription": None,
                "subscription_item": None,
            },
        },
        "livemode": False,
        "metadata": {},
        "discountable": True,
        "discounts": [],
    }


def invoice(
    *,
    invoice_id: str,
    customer: str,
    sub_id: str,
    status: str,
    lines: list[dict[str, Any]],
    number: str | None = None,
    amount_paid: int = 0,
    attempt_count: int = 0,
    tax: int = 0,
    currency: str = "usd",
    finalized_at: int | None = None,
    paid_at: int | None = None,
) -> dict[str, Any]:
    subtotal = sum(item["amount"] for item in lines)
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer,
        "status": status,
        "number": number,
        "currency": currency,
        "subtotal": subtotal,
        "total": subtotal + tax,
        "amount_due": subtotal + tax,
        "amount_paid": amount_paid,
        "attempt_count": attempt_count,
        "attempted": attempt_count > 0,
        "total_taxes": [{"amount": tax, "tax_behavior": "exclusive"}] if tax else [],
        "customer_name": "Acme Ltd",
        "customer_email": "billing@acme.test",
        "customer_address": {
            "line1": "1 Main St",
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        },
        "customer_tax_ids": [],
        "custom_fields": [{"name": "Tax ID", "value": "US-123"}],
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": sub_id}},
        "status_transitions": {"finalized_at": finalized_at, "paid_at": paid_at},
        "period_start": PERIOD_START,
        "period_end": PERIOD_START,
        "created": PERIOD_START,
        "livemode": False,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "discounts": [],
        "metadata": {},
    }


def webhook_endpoint() -> WebhookEndpoint:
    """dj-stripe's endpoint row: its uuid is in the URL Stripe posts to, its secret signs every event."""
    return WebhookEndpoint.objects.create(
        id="we_fake",
        secret=WEBHOOK_SECRET,
        url="https://portal.test/stripe/webhook/",
        enabled_events=["*"],
        status="enabled",
        api_version=API_VERSION,
        livemode=False,
    )


def event(
    event_type: str, obj: dict[str, Any], *, created: int, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{next(_ids)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }


def signature(payload: str, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """Stripe's v1 scheme: HMAC-SHA256 of "<timestamp>.<payload>" with the endpoint's secret."""
    timestamp = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def team_lines(catalog: Callable[[str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Acme's Team invoice lines for a period: the base and three seats (`catalog`: the fixture)."""
    return [
        line(price=catalog("bp:team:base:month:usd"), amount=4_900, quantity=1, description="1 × Team"),
        line(price=catalog("bp:team:seat:month:usd"), amount=3_600, quantity=3, description="3 × Team seat"),
    ]
