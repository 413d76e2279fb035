"""Applying a Stripe event exactly once, and never behind the state already held.

Webhook handlers turn dj-stripe's Event into a StripeEventRef and call `stripe_event_apply` with the function
that maps that kind of object. Here, in one transaction: the event id is claimed in the receipt ledger (a
replay finds it taken and changes nothing), events from the other Stripe mode are ignored, and the mapper's
outcome is recorded. Mappers re-read the object from dj-stripe's tables, which dj-stripe refreshed from Stripe
for this very event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from djstripe.models import Customer
from djstripe.settings import djstripe_settings

from billing_portal.core import clock
from billing_portal.payments.models import StripeEventOutcome, StripeEventReceipt

if TYPE_CHECKING:
    from accounts.models import Organization

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StripeEventRef:
    id: str
    type: str
    created: datetime
    object_id: str
    customer_id: str = ""
    livemode: bool = False


@dataclass(frozen=True)
class Outcome:
    outcome: str
    org: Organization | None = None
    note: str = ""


def ignored(note: str, org: Organization | None = None) -> Outcome:
    return Outcome(StripeEventOutcome.IGNORED, org, note)


def stale(org: Organization) -> Outcome:
    return Outcome(StripeEventOutcome.STALE, org, "an event created later was already applied")


def applied(org: Organization | None, note: str = "") -> Outcome:
    return Outcome(StripeEventOutcome.APPLIED, org, note)


def newer_event_applied(event: StripeEventRef) -> bool:
    """Whether an event about the same Stripe object, created after this one, was already applied."""
    return StripeEventReceipt.objects.filter(
        stripe_object_id=event.object_id, outcome=StripeEventOutcome.APPLIED, stripe_created__gt=event.created
    ).exists()


def org_for_customer(customer_id: str) -> Organization | None:
    customer = (
        Customer.objects.filter(id=customer_id).select_related("subscriber").first() if customer_id else None
    )
    return customer.subscriber if customer is not None else None


def stripe_event_apply(*, event: StripeEventRef, mapper: Callable[[StripeEventRef], Outcome]) -> str:
    """Apply one event at most once; returns the recorded outcome ("duplicate" when it was seen before)."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                receipt = StripeEventReceipt.objects.create(
                    event_id=event.id,
                    event_type=event.type,
                    stripe_object_id=event.object_id,
                    stripe_customer_id=event.customer_id,
                    stripe_created=event.created,
                    received_at=clock.now(),
                    outcome=StripeEventOutcome.IGNORED,
                )
        except IntegrityError:
            return "duplicate"
        if event.livemode != bool(djstripe_settings.STRIPE_LIVE_MODE):
            result = ignored("sent for the other Stripe mode")
        else:
            result = mapper(event)
        if result.outcome != StripeEventOutcome.APPLIED:
            logger.info("Stripe event %s (%s) %s: %s", event.id, event.type, result.outcome, result.note)
        receipt.outcome, receipt.org, receipt.note = result.outcome, result.org, result.note[:300]
        receipt.save(update_fields=["outcome", "org", "note"])
    return result.outcome
