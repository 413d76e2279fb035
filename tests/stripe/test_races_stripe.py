"""Closing an account billed by Stripe, then the owner's pending-change undo: Stripe must not resume billing."""

import contextlib

import pytest

from accounts.models import Membership, Role
from billing_portal.audit.services import Actor
from billing_portal.core.errors import BillingError
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.services.changes import subscription_undo_scheduled_change
from billing_portal.subscriptions.services.closure import org_request_closure
from tests.stripe.builders import PERIOD_START, event

pytestmark = pytest.mark.django_db
T = PERIOD_START + 3_600


def test_undoing_the_pending_cancel_of_a_closed_account_does_not_resume_its_stripe_subscription(
    fake_stripe, team, deliver, org
):
    deliver(event("customer.subscription.created", team(), created=T))
    owner = Membership.objects.get(org=org, role=Role.OWNER)
    org_request_closure(org=org, by=owner, actor=Actor.system("tests"))
    # Stripe reports the cancel_at_period_end the closure asked for.
    deliver(event("customer.subscription.updated", team(cancel_at_period_end=True), created=T + 60))
    before = len(fake_stripe.writes())
    with contextlib.suppress(BillingError):  # refused: what a closed account should answer
        subscription_undo_scheduled_change(org=org, by=owner, actor=Actor.for_user(owner.user))
    resumed = [w for w in fake_stripe.writes()[before:] if w.params.get("cancel_at_period_end") == "false"]
    assert not resumed, resumed
    sub = Subscription.objects.get(org=org)
    assert sub.status == Status.CANCELED
