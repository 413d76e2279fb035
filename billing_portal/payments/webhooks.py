"""Stripe webhook handlers, connected to dj-stripe's signals in PaymentsConfig.ready.

dj-stripe verifies the signature, stores the event once per id and re-fetches the object before these run, all
inside one transaction; the handlers only name the object and hand it to the mapping for its kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event

from billing_portal.payments.stripe_customers import payment_method_from_stripe
from billing_portal.payments.stripe_events import Outcome, StripeEventRef, stripe_event_apply
from billing_portal.payments.stripe_invoice_sync import invoice_from_stripe
from billing_portal.payments.stripe_objects import stripe_id
from billing_portal.payments.stripe_sync import (
    checkout_from_stripe,
    schedule_from_stripe,
    subscription_from_stripe,
)

SUBSCRIPTION_EVENTS = [
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
    "customer.subscription.pending_update_applied",
    "customer.subscription.pending_update_expired",
]
SCHEDULE_EVENTS = [
    "subscription_schedule.created",
    "subscription_schedule.updated",
    "subscription_schedule.released",
    "subscription_schedule.canceled",
    "subscription_schedule.completed",
    "subscription_schedule.aborted",
]
INVOICE_EVENTS = [
    "invoice.created",
    "invoice.updated",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice.payment_failed",
    "invoice.payment_action_required",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.deleted",
]
CHECKOUT_EVENTS = ["checkout.session.completed"]
PAYMENT_METHOD_EVENTS = ["payment_method.detached", "payment_method.updated", "payment_method.automatically_updated"]


def _apply(event: Event, mapper: Callable[[StripeEventRef], Outcome]) -> None:
    data = event.data["object"]
    stripe_event_apply(
        event=StripeEventRef(
            id=event.id,
            type=event.type,
            created=event.created,
            object_id=str(data["id"]),
            customer_id=stripe_id(data.get("customer")),
            livemode=bool(event.livemode),
        ),
        mapper=mapper,
    )


@djstripe_receiver(SUBSCRIPTION_EVENTS)
def on_subscription_event(sender: Any, event: Event, **kwargs: Any) -> None:
    _apply(event, subscription_from_stripe)


@djstripe_receiver(SCHEDULE_EVENTS)
def on_schedule_event(sender: Any, event: Event, **kwargs: Any) -> None:
    _apply(event, schedule_from_stripe)


@djstripe_receiver(INVOICE_EVENTS)
def on_invoice_event(sender: Any, event: Event, **kwargs: Any) -> None:
    _apply(event, invoice_from_stripe)


@djstripe_receiver(CHECKOUT_EVENTS)
def on_checkout_event(sender: Any, event: Event, **kwargs: Any) -> None:
    _apply(event, checkout_from_stripe)


@djstripe_receiver(PAYMENT_METHOD_EVENTS)
def on_payment_method_event(sender: Any, event: Event, **kwargs: Any) -> None:
    _apply(event, payment_method_from_stripe)
