"""Stripe -> portal for subscriptions, subscription schedules and Checkout sessions.

Status mapping: trialing, active and past_due keep their names; `unpaid` (Stripe stopped retrying) and
`paused` (a trial ended without a payment method) are PAUSED, where metered work stops until the owner pays or
moves to Free. `canceled` moves the org to Free (the portal's CANCELED means a closed account). `incomplete`
and `incomplete_expired` are a first payment still pending or abandoned: nothing changes until Stripe says
active.

A subscription event older than `Subscription.stripe_state_at` changes nothing: dj-stripe re-fetches the
object for each event, so an older event processed after a newer one can only carry the same or staler data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from djstripe.models import Customer, Session, SubscriptionSchedule
from djstripe.models import Subscription as StripeSubscription

from accounts.models import Organization
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.models import Plan
from billing_portal.core import clock
from billing_portal.core.numbers import whole_number
from billing_portal.core.queueing import enqueue_on_commit
from billing_portal.payments.models import PriceComponent, StripePrice
from billing_portal.payments.stripe_catalog import mapped_prices
from billing_portal.payments.stripe_events import (
    Outcome,
    StripeEventRef,
    applied,
    ignored,
    newer_event_applied,
    org_for_customer,
    stale,
)
from billing_portal.payments.stripe_objects import (
    Item,
    moment,
    schedule_phases,
    stripe_id,
    subscription_items,
)
from billing_portal.payments.tasks import stripe_payment_method_adopt
from billing_portal.subscriptions.models import SeatChange, Status, Subscription
from billing_portal.subscriptions.services.changes import subscription_switch_to_free
from billing_portal.subscriptions.services.credits import after_plan_change
from billing_portal.subscriptions.services.limits import plan_limits_apply
from billing_portal.subscriptions.services.seats import subscriptions_for_update

STATUS_FROM_STRIPE = {
    "trialing": Status.TRIALING,
    "active": Status.ACTIVE,
    "past_due": Status.PAST_DUE,
    "unpaid": Status.PAUSED,
    "paused": Status.PAUSED,
}
TRACKED = (
    "plan",
    "interval",
    "currency",
    "status",
    "billing_anchor",
    "current_period_start",
    "current_period_end",
    "trial_end",
    "cancel_at_period_end",
    "seat_quantity",
    "scheduled_plan",
    "scheduled_interval",
    "stripe_subscription_id",
)


def _org_by_id(value: Any) -> Organization | None:
    pk = whole_number(str(value or ""))
    return Organization.objects.filter(pk=pk).first() if pk is not None else None


def _locked(**lookup: Any) -> Subscription | None:
    return subscriptions_for_update().filter(**lookup).first()


def _locked_subscription(data: dict[str, Any]) -> Subscription | None:
    """Ours for this Stripe subscription: linked by id, else the org its metadata or customer names."""
    linked = _locked(stripe_subscription_id=data["id"])
    if linked is not None:
        return linked
    org = _org_by_id((data.get("metadata") or {}).get("org_id")) or org_for_customer(
        stripe_id(data.get("customer"))
    )
    return _locked(org=org) if org is not None else None


def _by_component(items: tuple[Item, ...]) -> dict[str, tuple[Item, StripePrice]]:
    mapping = mapped_prices([item.price_id for item in items])
    return {
        mapping[item.price_id].component: (item, mapping[item.price_id])
        for item in items
        if item.price_id in mapping
    }


def _next_phase_plan(schedule: dict[str, Any]) -> tuple[Plan | None, str]:
    """The plan and interval the schedule moves to after the current phase, if any."""
    if schedule.get("status") not in ("not_started", "active"):
        return None, ""
    current_end = (schedule.get("current_phase") or {}).get("end_date")
    upcoming = next(
        (phase for phase in schedule_phases(schedule) if current_end and phase.start >= current_end), None
    )
    mapped = _by_component(upcoming.items) if upcoming is not None else {}
    row = (mapped.get(PriceComponent.BASE) or mapped.get(PriceComponent.SEAT) or (None, None))[1]
    return (row.plan, row.interval) if row is not None else (None, "")


def _scheduled_change(data: dict[str, Any]) -> tuple[Plan | None, str] | None:
    """From the attached schedule; None while dj-stripe has not stored it yet (its own event will say)."""
    schedule_id = stripe_id(data.get("schedule"))
    if not schedule_id:
        return None, ""
    schedule = SubscriptionSchedule.objects.filter(id=schedule_id).first()
    return _next_phase_plan(schedule.stripe_data) if schedule is not None else None


def _values(subscription: Subscription, data: dict[str, Any]) -> dict[str, Any]:
    components = _by_component(subscription_items(data))
    base = components.get(PriceComponent.BASE)
    seat = components.get(PriceComponent.SEAT)
    values: dict[str, Any] = {
        # A closed account stays closed while Stripe runs its subscription out to the period end.
        "status": Status.CANCELED if subscription.status == Status.CANCELED else STATUS_FROM_STRIPE[data["status"]],
        "currency": str(data["currency"]).upper(),
        "trial_end": moment(data.get("trial_end")),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "stripe_subscription_id": data["id"],
        "billing_anchor": moment(data.get("billing_cycle_anchor")) or subscription.billing_anchor,
    }
    mapped = base or seat
    if mapped is not None:
        item, price = mapped
        values.update(plan=price.plan, interval=price.interval)
        if item.period_start and item.period_end:
            values.update(
                current_period_start=moment(item.period_start), current_period_end=moment(item.period_end)
            )
    if seat is not None:
        values["seat_quantity"] = seat[0].quantity
    scheduled = _scheduled_change(data)
    if scheduled is not None:
        plan, interval = scheduled
        keeps = (
            plan is not None
            and plan == values.get("plan", subscription.plan)
            and interval == values.get("interval", subscription.interval)
        )
        values.update(scheduled_plan=None if keeps else plan, scheduled_interval="" if keeps else interval)
    return values


def _snapshot(subscription: Subscription) -> dict[str, Any]:
    return {field: getattr(subscription, field) for field in TRACKED}


def _record_seats(subscription: Subscription, previous: int, event: StripeEventRef) -> None:
    # Stripe bills these seats itself: the ledger row carries no local price, so no local invoice prorates it.
    SeatChange.objects.get_or_create(
        idempotency_key=f"stripe:{event.id}:seats",
        defaults={
            "subscription": subscription,
            "effective_at": clock.now(org=subscription.org),
            "quantity": subscription.seat_quantity,
            "previous_quantity": previous,
            "reason": "Stripe subscription",
            "period_start": subscription.current_period_start,
            "period_end": subscription.current_period_end,
            "seat_price": 0,
            "currency": subscription.currency,
        },
    )


def _apply_values(
    subscription: Subscription, values: dict[str, Any], event: StripeEventRef, *, state_at: datetime | None
) -> None:
    """Set the fields, record what changed, and run what the portal's own plan changes run."""
    actor = Actor.stripe(event.id)
    org = subscription.org
    before = _snapshot(subscription)
    for field, value in values.items():
        setattr(subscription, field, value)
    if subscription.status == Status.PAST_DUE and before["status"] != Status.PAST_DUE:
        subscription.past_due_since = clock.now(org=org)
    elif subscription.status != Status.PAST_DUE:
        subscription.past_due_since = None
    subscription.stripe_state_at = state_at
    subscription.save()
    after = _snapshot(subscription)
    if after == before:
        return
    if after["seat_quantity"] != before["seat_quantity"]:
        _record_seats(subscription, before["seat_quantity"], event)
    changed = [field for field in TRACKED if after[field] != before[field]]
    audit_record(
        org=org,
        actor=actor,
        action="subscription.stripe_synced",
        target=subscription,
        before={field: before[field] for field in changed},
        after={field: after[field] for field in changed},
    )
    if after["plan"] != before["plan"]:
        plan_limits_apply(org=org, plan=subscription.plan, actor=actor)
    new_cycle = after["current_period_start"] != before["current_period_start"]
    if new_cycle or after["plan"] != before["plan"]:
        after_plan_change(org=org, actor=actor)


def _live(subscription_id: str) -> bool:
    row = StripeSubscription.objects.filter(id=subscription_id).first()
    return row is None or row.stripe_data.get("status") not in ("canceled", "incomplete_expired")


def _apply_subscription(data: dict[str, Any], event: StripeEventRef) -> Outcome:
    subscription = _locked_subscription(data)
    if subscription is None:
        return ignored(f"no organization for {data['id']}")
    org = subscription.org
    status = data.get("status")
    if subscription.stripe_subscription_id == data["id"]:
        if subscription.stripe_state_at is not None and event.created < subscription.stripe_state_at:
            return stale(org)
    elif status not in STATUS_FROM_STRIPE:
        return ignored(f"{data['id']} is {status} and not linked", org)
    elif subscription.stripe_subscription_id and _live(subscription.stripe_subscription_id):
        # A second paid subscription (two checkouts completed): keep the first; staff refund the other.
        audit_record(
            org=org,
            actor=Actor.stripe(event.id),
            action="subscription.stripe_duplicate",
            target=subscription,
            after={"kept": subscription.stripe_subscription_id, "other": data["id"]},
        )
        return ignored(f"org already billed by {subscription.stripe_subscription_id}", org)
    if status == "canceled":
        subscription.stripe_subscription_id, subscription.stripe_state_at = "", event.created
        if subscription_switch_to_free(
            subscription=subscription, actor=Actor.stripe(event.id), reason="Stripe subscription ended"
        ):
            return applied(org, "moved to Free")
        subscription.save(update_fields=["stripe_subscription_id", "stripe_state_at", "updated_at"])
        return applied(org, "ended; the account is closed")
    if status not in STATUS_FROM_STRIPE:
        return ignored(f"{data['id']} is {status}: first payment not complete", org)
    _apply_values(subscription, _values(subscription, data), event, state_at=event.created)
    return applied(org)


def subscription_from_stripe(event: StripeEventRef) -> Outcome:
    row = StripeSubscription.objects.filter(id=event.object_id).first()
    return (
        _apply_subscription(row.stripe_data, event) if row is not None else ignored("not stored by dj-stripe")
    )


def schedule_from_stripe(event: StripeEventRef) -> Outcome:
    """A schedule changed: the subscription's scheduled plan is the schedule's next phase."""
    row = SubscriptionSchedule.objects.filter(id=event.object_id).first()
    if row is None:
        return ignored("not stored by dj-stripe")
    data = row.stripe_data
    subscription_id = stripe_id(data.get("subscription")) or stripe_id(data.get("released_subscription"))
    subscription = _locked(stripe_subscription_id=subscription_id) if subscription_id else None
    if subscription is None:
        return ignored(f"no subscription linked to {subscription_id or 'nothing'}")
    if newer_event_applied(event):
        return stale(subscription.org)
    plan, interval = _next_phase_plan(data)
    if plan == subscription.plan and interval == subscription.interval:
        plan, interval = None, ""
    # A schedule event says nothing about the rest of the subscription: its newest state time stays.
    _apply_values(
        subscription,
        {"scheduled_plan": plan, "scheduled_interval": interval},
        event,
        state_at=subscription.stripe_state_at,
    )
    return applied(subscription.org)


def checkout_from_stripe(event: StripeEventRef) -> Outcome:
    """A completed Checkout: link the new subscription, or adopt the card a setup session collected."""
    row = Session.objects.filter(id=event.object_id).first()
    if row is None:
        return ignored("not stored by dj-stripe")
    data = row.stripe_data
    org = _org_by_id((data.get("metadata") or {}).get("org_id") or data.get("client_reference_id"))
    if org is None:
        return ignored("no organization in the session")
    customer_id = stripe_id(data.get("customer"))
    Customer.objects.filter(id=customer_id, subscriber__isnull=True).update(subscriber=org)
    if data.get("mode") == "subscription":
        subscription = StripeSubscription.objects.filter(id=stripe_id(data.get("subscription"))).first()
        if subscription is None:
            return ignored("subscription not stored by dj-stripe", org)
        outcome = _apply_subscription(subscription.stripe_data, event)
        method = stripe_id(subscription.stripe_data.get("default_payment_method"))
    else:
        setup = row.setup_intent
        method = stripe_id(setup.stripe_data.get("payment_method")) if setup is not None else ""
        outcome = applied(org)
    if method:
        _adopt_later(org.pk, method)
    return outcome


def _adopt_later(org_id: int, payment_method_id: str) -> None:
    # Making it the default takes Stripe calls: slow work, for Celery once this transaction commits.
    enqueue_on_commit(stripe_payment_method_adopt, org_id, payment_method_id, run_here_if_down=True)
