"""Seats follow accepted memberships: the quantity is always set to the absolute count, under a lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from accounts.selectors import seat_count
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.selectors import entitlements_for
from billing_portal.core import clock
from billing_portal.core.errors import BillingLimitReached
from billing_portal.subscriptions.models import SeatChange, Subscription

if TYPE_CHECKING:
    from accounts.models import Organization


def subscription_locked(org: Organization) -> Subscription:
    """The org's subscription row, locked for the rest of the transaction: every seat change goes through it."""
    return Subscription.objects.select_for_update().select_related("plan").get(org=org)


def member_limit_check(*, org: Organization, subscription: Subscription, adding: int = 1) -> None:
    """Raise if `adding` more accepted members would pass the plan's member limit. Call under the lock."""
    limit = entitlements_for(plan=subscription.plan, org=org).limit_members
    if limit is not None and seat_count(org) + adding > limit:
        raise BillingLimitReached(
            f"The {subscription.plan.name} plan allows {limit} member{'s' if limit != 1 else ''}; "
            "upgrade to add more.",
            code="member_limit_reached",
        )


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
                )
        except IntegrityError:
            return None  # this membership event was already counted
        previous = subscription.seat_quantity
        subscription.seat_quantity = quantity
        subscription.save(update_fields=["seat_quantity", "updated_at"])
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
