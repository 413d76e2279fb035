"""Staff repairs in Stripe mode: re-read an org from Stripe, and run a failed webhook delivery again.

Both end in `stripe_event_apply` with the mappers the webhooks use, so a repair changes the portal exactly as
the missed or failed event would have, once, and leaves a receipt saying what it did. A resync applies
what Stripe holds now; its receipts are dated now, so an event created earlier and delivered late is stale.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from itertools import islice
from traceback import format_exc
from typing import Any

from django.db import transaction
from djstripe.models import Invoice as StripeInvoice
from djstripe.models import Subscription as StripeSubscription
from djstripe.models import WebhookEventTrigger
from djstripe.settings import djstripe_settings

from accounts.models import Organization
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import Conflict, InvalidInput
from billing_portal.payments.models import StripeEventReceipt
from billing_portal.payments.providers.base import ProviderUnavailable
from billing_portal.payments.stripe_customers import stripe_customer_id
from billing_portal.payments.stripe_events import Outcome, StripeEventRef, stripe_event_apply
from billing_portal.payments.stripe_invoice_sync import invoice_from_stripe
from billing_portal.payments.stripe_sync import subscription_from_stripe

logger = logging.getLogger(__name__)
RECENT_SUBSCRIPTIONS = 3
RECENT_INVOICES = 10


def _fetch(model: Any, customer_id: str, limit: int, **filters: Any) -> list[str]:
    """Store the customer's newest `limit` objects of this kind as a webhook would; ids, oldest first."""
    api_key = djstripe_settings.STRIPE_SECRET_KEY
    try:
        listed = list(islice(model.api_list(api_key=api_key, customer=customer_id, **filters), limit))
        ids = [str(model.sync_from_stripe_data(data, api_key=api_key).id) for data in listed]
    except Exception as error:  # dj-stripe raises the stripe library's errors, which only the adapter imports
        logger.exception("Stripe resync of customer %s failed", customer_id)
        raise ProviderUnavailable(f"Stripe could not be read; nothing was changed ({error}).") from error
    return ids[::-1]


def org_stripe_resync(*, org: Organization, actor: Actor) -> dict[str, int]:
    """Apply the org's Stripe subscriptions and recent invoices as they are now; returns outcome counts."""
    customer_id = stripe_customer_id(org)
    if customer_id is None:
        raise InvalidInput(f"{org.name} has no Stripe customer to re-sync from.", code="no_stripe_customer")
    subscriptions = _fetch(StripeSubscription, customer_id, RECENT_SUBSCRIPTIONS, status="all")
    invoices = _fetch(StripeInvoice, customer_id, RECENT_INVOICES)
    work: list[tuple[str, str, Callable[[StripeEventRef], Outcome]]] = [
        *(("subscription", object_id, subscription_from_stripe) for object_id in subscriptions),
        *(("invoice", object_id, invoice_from_stripe) for object_id in invoices),
    ]
    outcomes: Counter[str] = Counter()
    now = clock.now()
    with transaction.atomic():
        for kind, object_id, mapper in work:
            event = StripeEventRef(
                id=f"resync_{uuid.uuid4().hex}",
                type=f"resync.{kind}",
                created=now,
                object_id=object_id,
                customer_id=customer_id,
                livemode=bool(djstripe_settings.STRIPE_LIVE_MODE),
            )
            outcomes[stripe_event_apply(event=event, mapper=mapper)] += 1
        audit_record(
            org=org,
            actor=actor,
            action="stripe.resynced",
            target=org,
            after={
                "customer": customer_id,
                "subscriptions": subscriptions,
                "invoices": invoices,
                "outcomes": dict(outcomes),
            },
        )
    return dict(outcomes)


def stripe_webhook_reprocess(*, trigger: WebhookEventTrigger, actor: Actor) -> str:
    """Run a failed delivery again: dj-stripe stores its event and the portal's handler applies it (once per
    event id). Returns the event's outcome; a new failure is kept on the delivery and raised as a Conflict."""
    failure: Exception | None = None
    with transaction.atomic():
        trigger = WebhookEventTrigger.objects.select_for_update().get(pk=trigger.pk)
        if not trigger.valid:
            raise InvalidInput("Only deliveries Stripe signed are reprocessed.", code="invalid_delivery")
        if trigger.processed:
            raise Conflict("This delivery was processed already.", code="already_processed")
        previous = trigger.exception
        try:
            with transaction.atomic():
                trigger.process(save=True)
        except Exception as error:  # what failed on delivery can fail again; keep why, as dj-stripe does
            logger.exception("Reprocessing Stripe webhook delivery %s failed", trigger.pk)
            WebhookEventTrigger.objects.filter(pk=trigger.pk).update(
                exception=str(error)[:128], traceback=format_exc()
            )
            failure = error
        else:
            event_id = str(trigger.json_body.get("id", ""))
            receipt = StripeEventReceipt.objects.filter(event_id=event_id).select_related("org").first()
            outcome = receipt.outcome if receipt is not None else "not handled"
            audit_record(
                org=receipt.org if receipt else None,
                actor=actor,
                action="stripe_event.reprocessed",
                target=receipt,
                before={"exception": previous},
                after={
                    "event_id": event_id,
                    "type": trigger.json_body.get("type", ""),
                    "outcome": outcome,
                    "delivery": trigger.pk,
                },
            )
    if failure is not None:
        raise Conflict(f"Reprocessing failed again: {failure}", code="reprocess_failed") from failure
    return outcome
