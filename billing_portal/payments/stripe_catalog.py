"""The plan catalog in Stripe, and the price mapping both directions read.

Each plan component (base, seat) is one Stripe Product under our own id; each currency and interval of it is
one Stripe Price found again by its lookup key, so syncing twice changes nothing. Stripe prices never change
amount: a new catalog amount makes a new price that takes over the lookup key, and the old mapping row stays
(not current) so subscriptions still billed on the old price keep mapping to their plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.models import Interval, Plan
from billing_portal.core import clock
from billing_portal.core.money import Money
from billing_portal.payments import stripe_adapter
from billing_portal.payments.models import PriceComponent, StripePrice


@dataclass(frozen=True)
class CatalogSyncResult:
    created: int = 0
    unchanged: int = 0
    retired: int = 0


def product_id(plan: Plan, component: str) -> str:
    return f"bp_{plan.code}_{component}"


def lookup_key(plan: Plan, currency: str, interval: str, component: str) -> str:
    return f"bp:{plan.code}:{component}:{interval}:{currency.lower()}"


def current_price(*, plan: Plan, currency: str, interval: str, component: str) -> StripePrice | None:
    return StripePrice.objects.filter(
        plan=plan, currency=currency, interval=interval, component=component, is_current=True
    ).first()


def mapped_prices(price_ids: list[str]) -> dict[str, StripePrice]:
    """Our mapping for Stripe price ids (current or retired); ids we never created are absent."""
    return {
        row.stripe_price_id: row
        for row in StripePrice.objects.filter(stripe_price_id__in=price_ids).select_related("plan")
    }


def _component_amounts(plan: Plan) -> list[tuple[str, str, str, Money]]:
    """(currency, interval, component, amount) of every priced component; free ones need no Stripe price."""
    rows = []
    for price in plan.prices.all():
        for interval in Interval.values:
            for component, amount in (
                (PriceComponent.BASE, price.base(interval)),
                (PriceComponent.SEAT, price.seat(interval)),
            ):
                if amount.amount > 0:
                    rows.append((price.currency, interval, component, amount))
    return rows


def _sync_price(plan: Plan, interval: str, component: str, amount: Money, actor: Actor) -> bool:
    """Make Stripe hold this price and map it; returns whether a new mapping was recorded."""
    currency = amount.currency
    current = current_price(plan=plan, currency=currency, interval=interval, component=component)
    if current is not None and current.unit_amount == amount.amount:
        return False
    key = lookup_key(plan, currency, interval, component)
    product = product_id(plan, component)
    found = stripe_adapter.price_by_lookup_key(key)
    if found is None or (found.unit_amount, found.currency, found.interval, found.product_id) != (
        amount.amount,
        currency,
        interval,
        product,
    ):
        found = stripe_adapter.price_create(
            product_id=product,
            currency=currency,
            unit_amount=amount.amount,
            interval=interval,
            lookup_key=key,
            nickname=f"{plan.name} {PriceComponent(component).label.lower()}, "
            f"{Interval(interval).label.lower()}",
            replacing=found.id if found else "",
        )
    with transaction.atomic():
        StripePrice.objects.filter(
            plan=plan, currency=currency, interval=interval, component=component, is_current=True
        ).exclude(stripe_price_id=found.id).update(is_current=False)
        row, _ = StripePrice.objects.update_or_create(
            stripe_price_id=found.id,
            defaults={
                "plan": plan,
                "currency": currency,
                "interval": interval,
                "component": component,
                "unit_amount": amount.amount,
                "lookup_key": key,
                "stripe_product_id": product,
                "is_current": True,
                "synced_at": clock.now(),
            },
        )
        audit_record(
            org=None,
            actor=actor,
            action="stripe.price_mapped",
            target=row,
            before={"price": current.stripe_price_id if current else None},
            after={"price": found.id, "lookup_key": key, "amount": amount.amount},
        )
    if current is not None and current.stripe_price_id != found.id:
        stripe_adapter.price_deactivate(current.stripe_price_id)  # no new subscriptions on the old amount
    return True


def stripe_catalog_sync(*, actor: Actor) -> CatalogSyncResult:
    """Create or update Stripe Products and Prices for every self-serve plan; safe to run again and again."""
    created = unchanged = 0
    kept: set[int] = set()
    plans = Plan.objects.filter(is_contact_sales=False).prefetch_related("prices")
    for plan in plans:
        rows = _component_amounts(plan)
        for component in {component for _, _, component, _ in rows}:
            label = plan.name if component == PriceComponent.BASE else f"{plan.name} seat"
            stripe_adapter.product_ensure(product_id=product_id(plan, component), name=label)
        for currency, interval, component, amount in rows:
            if _sync_price(plan, interval, component, amount, actor):
                created += 1
            else:
                unchanged += 1
            row = current_price(plan=plan, currency=currency, interval=interval, component=component)
            kept.add(row.pk if row else 0)
    retired = 0
    for row in StripePrice.objects.filter(is_current=True).exclude(pk__in=kept):
        # The catalog no longer sells this (made free or contact-sales): the row stays, for mapping only.
        StripePrice.objects.filter(pk=row.pk).update(is_current=False)
        stripe_adapter.price_deactivate(row.stripe_price_id)
        audit_record(
            org=None,
            actor=actor,
            action="stripe.price_retired",
            target=row,
            before={"price": row.stripe_price_id},
        )
        retired += 1
    return CatalogSyncResult(created=created, unchanged=unchanged, retired=retired)
