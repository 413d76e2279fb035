"""Every call the portal makes to Stripe's API, typed against the stripe package's own params.

The only module that imports `stripe`. Functions take plain values and return plain dataclasses (or, where
dj-stripe must record what Stripe answered, the object as a dict), so no caller sees a Stripe type. Stripe's
errors become the portal's: a declined card is PaymentDeclined, an outage or a bad key ProviderUnavailable,
and a request Stripe refuses a Conflict. Writes carry idempotency keys, so a retried call changes Stripe once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings

from billing_portal.core.errors import Conflict
from billing_portal.payments.providers.base import CustomerUpdate, PaymentDeclined, ProviderUnavailable
from billing_portal.payments.stripe_objects import Item, Phase, schedule_phases, stripe_id, subscription_items

if TYPE_CHECKING:
    from stripe.params import (
        CustomerCreateParams,
        CustomerCreateParamsAddress,
        CustomerUpdateParams,
        InvoiceCreatePreviewParams,
        InvoiceCreatePreviewParamsSubscriptionDetailsItem,
        PaymentIntentCreateParams,
        PriceCreateParams,
        RefundCreateParams,
        SubscriptionCancelParams,
        SubscriptionScheduleUpdateParamsPhase,
        SubscriptionUpdateParamsItem,
    )
    from stripe.params.checkout import SessionCreateParams

# Upgrades are invoiced and paid at once; the preview asks Stripe about exactly this, so it shows the charge.
UPGRADE_PRORATION: Literal["always_invoice"] = "always_invoice"
TAX_ID_FIELD = "Tax ID"


@dataclass(frozen=True)
class Session:
    id: str
    url: str


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    customer_id: str
    currency: str
    status: str
    items: tuple[Item, ...]
    schedule_id: str


@dataclass(frozen=True)
class Schedule:
    id: str
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class ItemChange:
    """One item of a subscription update: a new price/quantity for `item_id`, a new item, or a deletion."""

    price_id: str = ""
    quantity: int | None = None
    item_id: str = ""
    deleted: bool = False


@dataclass(frozen=True)
class PreviewLine:
    description: str
    amount: int
    period_start: int | None
    period_end: int | None


@dataclass(frozen=True)
class InvoicePreview:
    currency: str
    tax: int
    total: int
    amount_due: int
    lines: tuple[PreviewLine, ...]


@dataclass(frozen=True)
class PriceState:
    id: str
    product_id: str
    unit_amount: int
    currency: str
    interval: str


@dataclass(frozen=True)
class RefundState:
    id: str
    status: str


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None


@functools.lru_cache(maxsize=4)
def _cached_client(api_key: str, api_base: str, version: str, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key, stripe_version=version, base_addresses={"api": api_base}, max_network_retries=retries
    )


def _client() -> stripe.StripeClient:
    # dj-stripe points stripe.api_base at settings.STRIPE_API_HOST; we follow it, and its key and API version,
    # so what we write and what dj-stripe reads back are the same objects in the same shape.
    return _cached_client(
        str(djstripe_settings.STRIPE_SECRET_KEY),
        stripe.api_base,
        str(djstripe_settings.STRIPE_API_VERSION),
        int(getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", 2)),
    )


@contextmanager
def _portal_errors() -> Iterator[None]:
    try:
        yield
    except stripe.CardError as error:
        message = error.user_message or "The card was declined."
        raise PaymentDeclined(str(message), code=error.code or "card_declined") from error
    except (
        stripe.APIConnectionError,
        stripe.RateLimitError,
        stripe.AuthenticationError,
        stripe.PermissionError,
        stripe.APIError,
    ) as error:
        raise ProviderUnavailable(
            "Stripe could not be reached; nothing was changed. Try again shortly."
        ) from error
    except stripe.StripeError as error:
        raise Conflict(
            f"Stripe refused the request: {error.user_message or error}", code="stripe_refused"
        ) from error


def _options(idempotency_key: str) -> stripe.RequestOptions:
    return {"idempotency_key": idempotency_key}


# --- Customers ---------------------------------------------------------------------------------------


def _address(details: CustomerUpdate) -> CustomerCreateParamsAddress:
    """The org keeps a free-text address; Stripe prints line1/line2 and needs the country on its own."""
    lines = [line.strip() for line in details.address.splitlines() if line.strip()]
    return {"line1": lines[0] if lines else "", "line2": ", ".join(lines[1:]), "country": details.country}


def customer_create(*, details: CustomerUpdate, idempotency_key: str) -> dict[str, Any]:
    """A Stripe customer for an org; the metadata links it back (dj-stripe reads `djstripe_subscriber`)."""
    params: CustomerCreateParams = {
        "name": details.name,
        "email": details.email,
        "address": _address(details),
        "metadata": {"org_id": str(details.org_id), "djstripe_subscriber": str(details.org_id)},
    }
    if details.tax_id:
        params["invoice_settings"] = {"custom_fields": [{"name": TAX_ID_FIELD, "value": details.tax_id}]}
    with _portal_errors():
        return _client().v1.customers.create(params, _options(idempotency_key)).to_dict()


def customer_update(*, customer_id: str, details: CustomerUpdate, idempotency_key: str) -> None:
    # The tax ID goes on every Stripe invoice as a custom field: Stripe's typed tax IDs reject free-form ones.
    params: CustomerUpdateParams = {
        "name": details.name,
        "email": details.email,
        "address": _address(details),
        "invoice_settings": {
            "custom_fields": [{"name": TAX_ID_FIELD, "value": details.tax_id}] if details.tax_id else ""
        },
    }
    with _portal_errors():
        _client().v1.customers.update(customer_id, params, _options(idempotency_key))


def customer_set_default_payment_method(
    *, customer_id: str, payment_method_id: str, idempotency_key: str
) -> None:
    with _portal_errors():
        _client().v1.customers.update(
            customer_id,
            {"invoice_settings": {"default_payment_method": payment_method_id}},
            _options(idempotency_key),
        )


def payment_method_card(payment_method_id: str) -> Card:
    """What the portal shows of a payment method (a card, or the last digits of another kind)."""
    with _portal_errors():
        method = _client().v1.payment_methods.retrieve(payment_method_id)
    card = method.card
    if card is None:
        return Card(brand=method.type.replace("_", " ").title(), last4="", exp_month=None, exp_year=None)
    return Card(brand=card.brand.title(), last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year)


# --- Checkout -------------------------------------------------------------------------------------------


def checkout_subscription(
    *,
    customer_id: str,
    items: Sequence[Item],
    org_id: int,
    success_url: str,
    cancel_url: str,
    trial_end: int | None,
) -> Session:
    """Checkout in subscription mode; the org id rides on the session and the subscription it creates.

    No idempotency key of ours: each visit needs a fresh session (the client still retries lost requests).
    """
    metadata = {"org_id": str(org_id)}
    params: SessionCreateParams = {
        "mode": "subscription",
        "customer": customer_id,
        "client_reference_id": str(org_id),
        "line_items": [{"price": item.price_id, "quantity": item.quantity} for item in items],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
    }
    if trial_end is not None:
        params["subscription_data"]["trial_end"] = trial_end
    with _portal_errors():
        session = _client().v1.checkout.sessions.create(params)
    return Session(id=session.id, url=session.url or "")


def checkout_setup(*, customer_id: str, currency: str, org_id: int, return_url: str) -> Session:
    """Checkout in setup mode: collects a payment method; the webhook then makes it the default."""
    params: SessionCreateParams = {
        "mode": "setup",
        "customer": customer_id,
        "currency": currency.lower(),
        "success_url": return_url,
        "cancel_url": return_url,
        "metadata": {"org_id": str(org_id)},
        "setup_intent_data": {"metadata": {"org_id": str(org_id)}},
    }
    with _portal_errors():
        session = _client().v1.checkout.sessions.create(params)
    return Session(id=session.id, url=session.url or "")


# --- Subscriptions --------------------------------------------------------------------------------------


def subscription_state(subscription_id: str) -> SubscriptionState:
    with _portal_errors():
        data = _client().v1.subscriptions.retrieve(subscription_id).to_dict()
    return SubscriptionState(
        id=str(data["id"]),
        customer_id=stripe_id(data.get("customer")),
        currency=str(data.get("currency") or "").upper(),
        status=str(data.get("status") or ""),
        items=subscription_items(data),
        schedule_id=stripe_id(data.get("schedule")),
    )


def subscription_item_set_quantity(*, item_id: str, quantity: int, idempotency_key: str) -> None:
    with _portal_errors():
        _client().v1.subscription_items.update(
            item_id,
            {"quantity": quantity, "proration_behavior": "create_prorations"},
            _options(idempotency_key),
        )


def _update_items(changes: Sequence[ItemChange]) -> list[SubscriptionUpdateParamsItem]:
    items: list[SubscriptionUpdateParamsItem] = []
    for change in changes:
        item: SubscriptionUpdateParamsItem = {}
        if change.item_id:
            item["id"] = change.item_id
        if change.deleted:
            item["deleted"] = True
        else:
            item["price"] = change.price_id
            if change.quantity is not None:
                item["quantity"] = change.quantity
        items.append(item)
    return items


def subscription_add_item(
    *, subscription_id: str, price_id: str, quantity: int, idempotency_key: str
) -> None:
    with _portal_errors():
        _client().v1.subscriptions.update(
            subscription_id,
            {"items": [{"price": price_id, "quantity": quantity}], "proration_behavior": "create_prorations"},
            _options(idempotency_key),
        )


def subscription_upgrade(
    *, subscription_id: str, changes: Sequence[ItemChange], proration_date: int, idempotency_key: str
) -> None:
    """Switch prices now, invoice the prorations at once and apply nothing unless that invoice is paid. An upgrade
    paid for keeps the subscription: a pending cancellation is lifted with it, as the portal's own upgrades do."""
    with _portal_errors():
        _client().v1.subscriptions.update(
            subscription_id,
            {
                "items": _update_items(changes),
                "cancel_at_period_end": False,
                "proration_behavior": UPGRADE_PRORATION,
                "proration_date": proration_date,
                "payment_behavior": "error_if_incomplete",
            },
            _options(idempotency_key),
        )


def subscription_set_cancel_at_period_end(
    *, subscription_id: str, cancel: bool, idempotency_key: str
) -> None:
    with _portal_errors():
        _client().v1.subscriptions.update(
            subscription_id, {"cancel_at_period_end": cancel}, _options(idempotency_key)
        )


def subscription_cancel_now(*, subscription_id: str, idempotency_key: str) -> None:
    """End the subscription at once, with no final invoice and no proration: the portal has moved the org to Free.
    One already canceled stays as it is."""
    with _portal_errors():
        if _client().v1.subscriptions.retrieve(subscription_id).status == "canceled":
            return
        params: SubscriptionCancelParams = {"invoice_now": False, "prorate": False}
        _client().v1.subscriptions.cancel(subscription_id, params, _options(idempotency_key))


def subscription_set_default_payment_method(
    *, subscription_id: str, payment_method_id: str, idempotency_key: str
) -> None:
    with _portal_errors():
        _client().v1.subscriptions.update(
            subscription_id, {"default_payment_method": payment_method_id}, _options(idempotency_key)
        )


def invoice_preview(
    *, customer_id: str, subscription_id: str, changes: Sequence[ItemChange], proration_date: int
) -> InvoicePreview:
    """The invoice `subscription_upgrade` with the same changes and proration date would create now."""
    items: list[InvoiceCreatePreviewParamsSubscriptionDetailsItem] = [
        {**item} for item in _update_items(changes)
    ]
    params: InvoiceCreatePreviewParams = {
        "customer": customer_id,
        "subscription": subscription_id,
        "subscription_details": {
            "items": items,
            "proration_behavior": UPGRADE_PRORATION,
            "proration_date": proration_date,
        },
    }
    with _portal_errors():
        data = _client().v1.invoices.create_preview(params).to_dict()
    return InvoicePreview(
        currency=str(data["currency"]).upper(),
        tax=sum(int(tax["amount"]) for tax in data.get("total_taxes") or []),
        total=int(data["total"]),
        amount_due=int(data["amount_due"]),
        lines=tuple(
            PreviewLine(
                description=str(line.get("description") or ""),
                amount=int(line["amount"]),
                period_start=(line.get("period") or {}).get("start"),
                period_end=(line.get("period") or {}).get("end"),
            )
            for line in (data.get("lines") or {}).get("data", [])
        ),
    )


# --- Subscription schedules (changes at the period end) --------------------------------------------------


def _schedule(data: dict[str, Any]) -> Schedule:
    return Schedule(id=str(data["id"]), phases=schedule_phases(data))


def schedule_from_subscription(*, subscription_id: str, idempotency_key: str) -> Schedule:
    with _portal_errors():
        data = (
            _client()
            .v1.subscription_schedules.create(
                {"from_subscription": subscription_id}, _options(idempotency_key)
            )
            .to_dict()
        )
    return _schedule(data)


def schedule_get(schedule_id: str) -> Schedule:
    with _portal_errors():
        return _schedule(_client().v1.subscription_schedules.retrieve(schedule_id).to_dict())


def schedule_set_phases(*, schedule_id: str, phases: Sequence[Phase], idempotency_key: str) -> None:
    """Rewrite the current and future phases; when the last one ends, the schedule lets it go."""
    params: list[SubscriptionScheduleUpdateParamsPhase] = []
    for index, phase in enumerate(phases):
        entry: SubscriptionScheduleUpdateParamsPhase = {
            "items": [{"price": item.price_id, "quantity": item.quantity} for item in phase.items],
            "proration_behavior": "none",
        }
        if index == 0:
            entry["start_date"] = phase.start
        if phase.end is not None:
            entry["end_date"] = phase.end
        else:
            entry["duration"] = {
                "interval": "year" if phase.interval == "year" else "month",
                "interval_count": 1,
            }
        params.append(entry)
    with _portal_errors():
        _client().v1.subscription_schedules.update(
            schedule_id,
            {"phases": params, "end_behavior": "release", "proration_behavior": "create_prorations"},
            _options(idempotency_key),
        )


def schedule_release(*, schedule_id: str, idempotency_key: str) -> None:
    with _portal_errors():
        _client().v1.subscription_schedules.release(schedule_id, {}, _options(idempotency_key))


# --- Invoices -------------------------------------------------------------------------------------------


def invoice_pay(*, invoice_id: str, off_session: bool, idempotency_key: str) -> str:
    """Attempt payment of an open Stripe invoice now; returns its status afterwards."""
    with _portal_errors():
        invoice = _client().v1.invoices.pay(
            invoice_id, {"off_session": off_session}, _options(idempotency_key)
        )
    return str(invoice.status or "")


def payment_intent_charge(
    *, customer_id: str, payment_method_id: str, amount: int, currency: str, description: str, off_session: bool,
    idempotency_key: str,
) -> tuple[str, str]:
    """Charge a saved card now for a portal invoice Stripe does not bill (a top-up, say): (intent id, status).
    Cards only, so that no payment method needs a redirect to a return URL."""
    params: PaymentIntentCreateParams = {
        "amount": amount,
        "currency": currency.lower(),
        "customer": customer_id,
        "payment_method": payment_method_id,
        "payment_method_types": ["card"],
        "confirm": True,
        "off_session": off_session,
        "description": description,
    }
    with _portal_errors():
        intent = _client().v1.payment_intents.create(params, _options(idempotency_key))
    return str(intent.id), str(intent.status or "")


def invoice_lines(invoice_id: str) -> list[dict[str, Any]]:
    """Every line of an invoice (the invoice object itself carries only the first page)."""
    with _portal_errors():
        page = _client().v1.invoices.line_items.list(invoice_id, {"limit": 100})
        return [line.to_dict() for line in page.auto_paging_iter()]


# --- Refunds -------------------------------------------------------------------------------------------


def refund_create(*, payment_reference: str, amount: int, note: str, idempotency_key: str) -> RefundState:
    """Refund `amount` (minor units) of a charge (ch_...) or a payment intent (pi_...), with staff's note."""
    params: RefundCreateParams = {
        "amount": amount,
        "reason": "requested_by_customer",
        "metadata": {"note": note[:500]},
    }
    if payment_reference.startswith("pi_"):
        params["payment_intent"] = payment_reference
    else:
        params["charge"] = payment_reference
    with _portal_errors():
        refund = _client().v1.refunds.create(params, _options(idempotency_key))
    return RefundState(id=refund.id, status=str(refund.status or ""))


# --- Catalog: products and prices ------------------------------------------------------------------------


def product_ensure(*, product_id: str, name: str) -> None:
    """Create the product under our own id, or rename it; safe to repeat."""
    client = _client()
    with _portal_errors():
        try:
            product = client.v1.products.retrieve(product_id)
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise
            client.v1.products.create({"id": product_id, "name": name}, _options(f"product:{product_id}"))
            return
        if product.name != name or not product.active:
            client.v1.products.update(product_id, {"name": name, "active": True})


def price_by_lookup_key(lookup_key: str) -> PriceState | None:
    with _portal_errors():
        prices = _client().v1.prices.list({"lookup_keys": [lookup_key], "active": True, "limit": 1})
    for price in prices.data:
        return PriceState(
            id=price.id,
            product_id=price.product if isinstance(price.product, str) else price.product.id,
            unit_amount=int(price.unit_amount or 0),
            currency=price.currency.upper(),
            interval=price.recurring.interval if price.recurring else "",
        )
    return None


def price_create(
    *, product_id: str, currency: str, unit_amount: int, interval: str, lookup_key: str, nickname: str,
    replacing: str,
) -> PriceState:
    """A recurring price that takes `lookup_key` over from `replacing`, the price holding it now ("" for none);
    prices never change amount. The key names both, so a price changed back later is a new price, not a replay
    of the first one (since deactivated)."""
    params: PriceCreateParams = {
        "product": product_id,
        "currency": currency.lower(),
        "unit_amount": unit_amount,
        "recurring": {"interval": "year" if interval == "year" else "month"},
        "lookup_key": lookup_key,
        "transfer_lookup_key": True,
        "nickname": nickname,
    }
    with _portal_errors():
        price = _client().v1.prices.create(params, _options(f"price:{lookup_key}:{unit_amount}:{replacing}"))
    return PriceState(
        id=price.id,
        product_id=product_id,
        unit_amount=unit_amount,
        currency=currency.upper(),
        interval=interval,
    )


def price_deactivate(price_id: str) -> None:
    with _portal_errors():
        _client().v1.prices.update(price_id, {"active": False})
