"""Extending a trial, as support does from admin for a customer who needs more time to evaluate.

A trial under way ends `days` later. A trial that already ended without a card (PAUSED) starts again for
`days` from now, so metered work resumes. Subscriptions Stripe bills are extended in Stripe, not here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction

from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import Conflict, InvalidInput, NotAllowed
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.services.seats import subscription_locked

if TYPE_CHECKING:
    from accounts.models import Organization

MAX_TRIAL_EXTENSION_DAYS = 90


def subscription_extend_trial(
    *, org: Organization, days: int, actor: Actor, reason: str, expected_trial_end: datetime | None = None
) -> Subscription:
    """Move the trial's end (and the trial period's) `days` later.

    `expected_trial_end` is the end the caller saw: if it moved meanwhile (a double submit), nothing changes.
    """
    if type(days) is not int or not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
        raise InvalidInput(
            f"Extend by 1 to {MAX_TRIAL_EXTENSION_DAYS} days.",
            fields={"days": [f"1 to {MAX_TRIAL_EXTENSION_DAYS}."]},
        )
    with transaction.atomic():
        subscription = subscription_locked(org)
        if subscription.stripe_subscription_id:
            raise NotAllowed(
                "Stripe bills this subscription; extend its trial in Stripe.", code="billed_by_stripe"
            )
        if subscription.trial_end is None or subscription.status not in (Status.TRIALING, Status.PAUSED):
            raise InvalidInput(
                "Only a trial, or a trial that ended without a card, can be extended.", code="not_trialing"
            )
        if expected_trial_end is not None and subscription.trial_end != expected_trial_end:
            raise Conflict("The trial changed since you looked; reload and try again.", code="trial_changed")
        before = {"status": subscription.status, "trial_end": subscription.trial_end}
        # A running trial gets its days on top; an ended one restarts from now.
        start = subscription.trial_end if subscription.status == Status.TRIALING else clock.now(org=org)
        subscription.trial_end = subscription.current_period_end = start + timedelta(days=days)
        subscription.status = Status.TRIALING
        subscription.save(update_fields=["status", "trial_end", "current_period_end", "updated_at"])
        audit_record(
            org=org,
            actor=actor,
            action="subscription.trial_extended",
            target=subscription,
            before=before,
            after={"status": Status.TRIALING, "trial_end": subscription.trial_end, "days": days},
            reason=reason,
        )
    return subscription
