"""Reading Stripe's JSON: small pure functions over the objects Stripe sends, at the API version we pin.

Shared by the adapter (objects Stripe answers with) and the webhook sync (objects dj-stripe stored), so each
shape is read in one place. Since API version 2025-03-31 the billing period lives on subscription items, and
an invoice line names its price under `pricing.price_details`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Item:
    """A subscription item, a schedule phase item or an item to set: a price and its quantity."""

    price_id: str
    quantity: int
    id: str = ""
    period_start: int | None = None
    period_end: int | None = None


@dataclass(frozen=True)
class Phase:
    """A subscription schedule phase; one without an end lasts a single `interval`."""

    start: int
    end: int | None
    items: tuple[Item, ...]
    interval: str = ""


def stripe_id(value: Any) -> str:
    """An id from a field Stripe may send as an id or as the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def moment(value: Any) -> datetime | None:
    """A Stripe Unix timestamp as an aware datetime."""
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def subscription_items(data: dict[str, Any]) -> tuple[Item, ...]:
    return tuple(
        Item(
            price_id=stripe_id(item.get("price")),
            quantity=int(item.get("quantity") or 0),
            id=str(item.get("id") or ""),
            period_start=item.get("current_period_start"),
            period_end=item.get("current_period_end"),
        )
        for item in (data.get("items") or {}).get("data", [])
    )


def schedule_phases(data: dict[str, Any]) -> tuple[Phase, ...]:
    return tuple(
        Phase(
            start=int(phase["start_date"]),
            end=phase.get("end_date"),
            items=tuple(
                Item(price_id=stripe_id(item.get("price")), quantity=int(item.get("quantity") or 0))
                for item in phase.get("items", [])
            ),
        )
        for phase in data.get("phases", [])
    )


def line_price_id(line: dict[str, Any]) -> str:
    details = (line.get("pricing") or {}).get("price_details") or {}
    return stripe_id(details.get("price"))


def line_is_proration(line: dict[str, Any]) -> bool:
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") or parent.get("invoice_item_details") or {}
    return bool(details.get("proration"))
