"""Seats follow accepted memberships: the quantity is always set to the absolute count, under a lock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, tzinfo
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from accounts.selectors import seat_count
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.selectors import entitlements_for
from billing_portal.core import clock
from billing_portal.core.errors import BillingLimitReached
from billing_portal.core.money import Money
from billing_portal.payments.providers import get_provider
from billing_portal.payments.providers.base import SeatQuantityUpdate
from billing_portal.subscriptions.models import SeatChange, Status, Subscription
from billing_portal.subscriptions.periods import Period
from invoices.models import LineKind
from invoices.services import LineSpec

if TYPE_CHECKING:
    from accounts.models import Organization
    from invoices.models import Invoice


def subscriptions_for_update() -> QuerySet[Subscription]:
    """Subscriptions with their org and plan, locking only the subscription rows (every org on a plan shares that
    plan's row) for the rest of the transaction.

    The plan is read after the lock, not joined: a request that waited for the lock behind a plan change would
    have PostgreSQL re-check the join against the old plan's row, and find no subscription at all."""
    return Subscription.objects.select_for_update(of=("self",)).select_related("org").prefetch_related("plan")


def subscription_locked(org: Organization) -> Subscription:
    """The org's subscription row, locked for the rest of the transaction: every seat change goes through it."""
    return subscriptions_for_update().get(org=org)


def member_limit_check(*, org: Organization, subscription: Subscription, adding: int = 1) -> None:
    """Raise if `adding` more accepted members would pass the plan's member limit. Call under the lock."""
    limit = entitlements_for(plan=subscription.plan, org=org).limit_members
    if limit is not None and seat_count(org) + adding > limit:
        raise BillingLimitReached(
            f"The {subscription.plan.name} plan allows {limit} member{'s' if limit != 1 else ''}; "
            "upgrade to add more.",
            code="member_limit_reached",
        )


def billed_seat_price(subscription: Subscription) -> Money:
    """A seat's price for the current period, or zero while nothing is billed (trial, paused, free)."""
    if subscription.status in (Status.ACTIVE, Status.PAST_DUE):
        return subscription.seat_price()
    return Money.zero(subscription.currency)


def _days(period: Period, day: date, tz: tzinfo) -> tuple[int, int]:
    """Days of the period left from `day` on, and the period's days. A change made after the period end (the
    renewal job has not run yet) has none left: the renewal bills the new quantity for the whole next period."""
    end_day = period.end.astimezone(tz).date()
    total = (end_day - period.start.astimezone(tz).date()).days
    return min(max((end_day - day).days, 0), total), total


def seat_day_proration(seat_price: Money, period: Period, day: date, tz: tzinfo, seats: int = 1) -> Money:
    """`seats` seats from `day` to the period end, prorated to the day in the org's calendar."""
    remaining_days, total_days = _days(period, day, tz)
    return seat_price.prorate(seats * remaining_days, total_days)


def seat_proration_lines(changes: Iterable[SeatChange], tz: tzinfo) -> list[LineSpec]:
    """Day-prorated charges and credits for seat changes; adding and removing on the same day nets to zero."""
    net: dict[tuple[datetime, datetime, int, str, date], int] = defaultdict(int)
    for change in changes:
        day = change.effective_at.astimezone(tz).date()
        net[(change.period_start, change.period_end, change.seat_price, change.currency, day)] += (
            change.quantity - change.previous_quantity
        )
    lines = []
    for (period_start, period_end, seat_price, currency, day), delta in sorted(net.items()):
        if delta == 0 or seat_price == 0:
            continue
        period = Period(period_start, period_end)
        remaining_days, total_days = _days(period, day, tz)
        if remaining_days == 0:
            continue
        amount = seat_day_proration(Money(seat_price, currency), period, day, tz, seats=delta)
        seats = f"{abs(delta)} seat{'s' if abs(delta) != 1 else ''}"
        verb = "added" if delta > 0 else "removed"
        lines.append(
            LineSpec(
                kind=LineKind.SEAT_PRORATION,
                description=f"{seats} {verb} on {day:%b %-d, %Y} ({remaining_days} of {total_days} days)",
                unit_amount=amount,
                period=Period(max(period_start, datetime.combine(day, time(), tz)), period_end),
            )
        )
    return lines


def seats_pending(subscription: Subscription) -> list[SeatChange]:
    """Seat changes whose prorations no invoice has carried yet."""
    return list(subscription.seat_changes.filter(settled_invoice__isnull=True))


def seats_mark_settled(changes: list[SeatChange], invoice: Invoice) -> None:
    SeatChange.objects.filter(pk__in=[change.pk for change in changes]).update(settled_invoice=invoice)


def seats_sync(*, org: Organization, reason: str, idempotency_key: str, actor: Actor) -> SeatChange | None:
    """Set the billed quantity to the number of active memberships; record the change once per key."""
    with transaction.atomic():
        subscription = subscription_locked(org)
        quantity = seat_count(org)
        if quantity == subscription.seat_quantity:
            return None
        try:
            with transaction.atomic():
                change = SeatChange.objects.create(
                    subscription=subscription,
                    effective_at=clock.now(org=org),
                    quantity=quantity,
                    previous_quantity=subscription.seat_quantity,
                    idempotency_key=idempotency_key,
                    reason=reason,
                    period_start=subscription.current_period_start,
                    period_end=subscription.current_period_end,
                    seat_price=billed_seat_price(subscription).amount,
                    currency=subscription.currency,
                )
        except IntegrityError:
            return None  # this membership event was already counted
        previous = subscription.seat_quantity
        subscription.seat_quantity = quantity
        subscription.save(update_fields=["seat_quantity", "updated_at"])
        if subscription.stripe_subscription_id:
            update = SeatQuantityUpdate(org_id=org.pk, subscription_reference=subscription.stripe_subscription_id,
                                        quantity=quantity, idempotency_key=f"seats:{change.pk}")
            transaction.on_commit(lambda: get_provider().set_seat_quantity(update))
        audit_record(
            org=org,
            actor=actor,
            action="seats.changed",
            target=subscription,
            before={"seats": previous},
            after={"seats": quantity},
            reason=reason,
        )
    return change
