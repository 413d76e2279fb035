"""Stripe at its edges: moving to Free ends Stripe's subscription, keys that must not replay an earlier request,
and the customer balance Stripe spent on an invoice."""

import copy
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from accounts.models import Organization
from accounts.services import org_update_billing_details
from billing_portal.audit.services import Actor
from billing_portal.catalog.models import Plan, PlanPrice
from billing_portal.core.money import Money
from billing_portal.payments.models import StripePrice
from billing_portal.payments.services import invoice_collect
from billing_portal.payments.stripe_customers import stripe_customer_ensure
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.services.changes import (
    subscription_cancel,
    subscription_change_plan,
    subscription_preview_change,
)
from invoices.models import Invoice, InvoiceStatus
from tests.stripe.builders import PERIOD_END, PERIOD_START, event, invoice, team_lines
from tests.stripe.fake_stripe import Recorded, stripe_error
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
T = PERIOD_START + 3_600
SUBSCRIPTION = "/v1/subscriptions/sub_acme"
PERIOD_START_DT = datetime.fromtimestamp(PERIOD_START, tz=UTC)
PERIOD_END_DT = datetime.fromtimestamp(PERIOD_END, tz=UTC)


@pytest.fixture
def replaying(fake_stripe, monkeypatch):
    """Stripe's idempotency layer on the fake: a POST whose Idempotency-Key Stripe saw in the last 24 hours gets
    the first answer back and changes nothing (with other parameters: a 400 idempotency error)."""
    seen = {}
    answer = fake_stripe.answer

    def idempotent(method, path, params, headers):
        key = headers.get("idempotency-key", "")
        if method != "POST" or not key:
            return answer(method, path, params, headers)
        if key in seen:
            first_path, first_params, status, payload = seen[key]
            fake_stripe.requests.append(Recorded(method, path, params, headers))
            if (first_path, first_params) != (path, params):
                return stripe_error(400, "idempotency_key_in_use", "Keys for idempotent requests can only be "
                                    "used with the same parameters they were first used with.")
            return status, copy.deepcopy(payload)
        status, payload = answer(method, path, params, headers)
        seen[key] = (path, params, status, copy.deepcopy(payload))
        return status, payload

    monkeypatch.setattr(fake_stripe, "answer", idempotent)
    return seen


def sync_catalog():
    call_command("sync_stripe_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115


def local(org):
    return Subscription.objects.select_related("plan", "scheduled_plan").get(org=org)


# --- 1. Moving to Free while Stripe bills a trial or a paused subscription --------------------------------


def test_moving_to_free_during_a_stripe_trial_ends_the_stripe_subscription(fake_stripe, team, deliver, org):
    """An owner on a Stripe-billed Team trial moves to Free (the change applies at once during a trial). The
    portal switches to Free locally but never tells Stripe: the Stripe subscription keeps running, so when the
    trial ends Stripe charges the card for Team, and its `customer.subscription.updated` (still linked) puts the
    org back on Team. Expected: the Stripe subscription is ended, and the org stays on Free."""
    trial_end = PERIOD_END
    deliver(event("customer.subscription.created", team(status="trialing", trial_end=trial_end), created=T))
    assert (local(org).plan.code, local(org).status) == ("team", Status.TRIALING)

    org = Organization.objects.get(pk=org.pk)
    subscription_change_plan(org=org, plan=Plan.objects.get(code="free"), interval="month", by=owner(org),
                             actor=ACTOR)
    assert local(org).plan.code == "free"

    ended = any(call.method == "DELETE" for call in fake_stripe.requests if call.path == SUBSCRIPTION) or any(
        call.params.get("cancel_at_period_end") == "true" for call in fake_stripe.calls("POST", SUBSCRIPTION))
    assert ended, "Stripe was never asked to end (or stop renewing) the Team subscription"
    # What Stripe does at the trial end with the subscription it still holds: starts charging for Team.
    stripe_state = "canceled" if ended else "active"
    deliver(event("customer.subscription.updated", team(status=stripe_state), created=trial_end + 60))
    assert local(org).plan.code == "free"


def test_cancelling_a_paused_stripe_subscription_ends_it_in_stripe(fake_stripe, team, deliver, org):
    """Stripe stopped retrying (`unpaid`, PAUSED here) and the owner cancels to get back to work on Free. The
    portal moves to Free at once but leaves the Stripe subscription alive and linked: the next subscription event
    from Stripe puts the org back on Team, PAUSED, blocking metered work again. Expected: the Stripe subscription
    is canceled and a later event about it leaves the org on Free."""
    deliver(event("customer.subscription.created", team(), created=T))
    deliver(event("customer.subscription.updated", team(status="unpaid"), created=T + 10))
    assert local(org).status == Status.PAUSED

    org = Organization.objects.get(pk=org.pk)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    assert (local(org).plan.code, local(org).status) == ("free", Status.ACTIVE)

    ended = any(call.method == "DELETE" for call in fake_stripe.requests if call.path == SUBSCRIPTION)
    assert ended, "Stripe was never asked to cancel the unpaid subscription"
    deliver(event("customer.subscription.updated", team(status="canceled" if ended else "unpaid"),
                  created=T + 20))
    sub = local(org)
    assert (sub.plan.code, sub.status) == ("free", Status.ACTIVE)


# --- 2. A declined upgrade drops the scheduled downgrade ------------------------------------------------------


@pytest.fixture
def billed(fake_stripe, team, org):
    """Acme on Team, billed by Stripe's subscription sub_acme."""
    Subscription.objects.filter(org=org).update(stripe_subscription_id="sub_acme", plan=Plan.objects.get(code="team"),
                                                current_period_start=PERIOD_START_DT, current_period_end=PERIOD_END_DT)
    org.subscription.refresh_from_db()
    return org


def _preview_total(fake_stripe, total):
    line = {"description": "Remaining time on Business", "amount": total, "period": {"start": 1, "end": 2}}
    fake_stripe.preview = {"object": "invoice", "currency": "usd", "total": total, "amount_due": total,
                           "total_taxes": [], "lines": {"object": "list", "data": [line]}}


def test_a_declined_upgrade_keeps_the_scheduled_downgrade_in_stripe(fake_stripe, billed, catalog):
    """Team with a downgrade to Starter scheduled for the period end; the owner then tries Business and the card
    is declined (`error_if_incomplete`: Stripe changes nothing). But the adapter released the subscription
    schedule before sending the upgrade, so the scheduled downgrade is gone in Stripe (and, by the
    schedule.released webhook, in the portal): the next period bills Team. Expected: a declined upgrade leaves
    Stripe's scheduled downgrade to Starter in place."""
    org = billed
    starter = Plan.objects.get(code="starter")
    subscription_change_plan(org=org, plan=starter, interval="month", by=owner(org), actor=ACTOR)
    schedule_id = fake_stripe.objects["sub_acme"]["schedule"]
    assert schedule_id and local(org).scheduled_plan == starter

    _preview_total(fake_stripe, 4_356)
    business = Plan.objects.get(code="business")
    preview = subscription_preview_change(org=org, plan=business, interval="month", by=owner(org))
    fake_stripe.fail("POST", SUBSCRIPTION, 402, "card_declined", "Your card was declined.", "card_error")
    outcome = subscription_change_plan(org=org, plan=business, interval="month", by=owner(org), actor=ACTOR,
                                       proration_at=preview.proration_at, expected_amount=preview.amount_due)
    assert not outcome.applied and outcome.error

    current = fake_stripe.objects["sub_acme"]["schedule"]
    schedule = fake_stripe.objects[current]
    assert schedule["status"] == "active", f"the schedule was {schedule['status']} by a declined upgrade"
    written = [c for c in fake_stripe.calls("POST", f"/v1/subscription_schedules/{current}") if "phases" in c.params]
    starter_price = catalog("bp:starter:base:month:usd")["id"]
    assert written and [item["price"] for item in written[-1].params["phases"][-1]["items"]] == [starter_price]


# --- 3. Idempotency keys reused for a different change ---------------------------------------------------


def test_billing_details_changed_back_reach_stripe(
    fake_stripe, replaying, catalog, org, django_capture_on_commit_callbacks
):
    """Billing email A, then B, then back to A the same day (a typo undone). The push's idempotency key is a
    digest of the details, so the third push reuses the first push's key: Stripe answers from its cache and
    applies nothing, and the Stripe customer (who gets Stripe's invoices and receipts) keeps B. Expected: each
    change of details reaches Stripe."""
    customer = stripe_customer_ensure(org)
    for email in ("ap@acme.test", "typo@acme.test", "ap@acme.test"):
        org = Organization.objects.get(pk=org.pk)
        with django_capture_on_commit_callbacks(execute=True):
            org_update_billing_details(org=org, by=owner(org), billing_email=email, tax_id="DE111",
                                       billing_address="1 Main St", country="DE")
    assert len(fake_stripe.calls("POST", f"/v1/customers/{customer}")) == 3
    assert fake_stripe.objects[customer]["email"] == "ap@acme.test", "Stripe still bills typo@acme.test"


def test_a_catalog_price_changed_back_the_same_day_maps_an_active_stripe_price(fake_stripe, replaying, catalog):
    """Staff change Pro's monthly USD price and sync, then undo it and sync again the same day. The new price's
    idempotency key is `price:<lookup key>:<amount>`, so the undo reuses the first sync's key: Stripe replays the
    original (since deactivated) price instead of creating one, the portal maps that inactive price as current and
    deactivates the one that held the lookup key. Checkout for Pro then fails (inactive price), and syncing again
    sees the amount unchanged and never repairs it. Expected: the current mapping names an active Stripe price
    that holds the lookup key."""
    key = "bp:pro:base:month:usd"
    original = PlanPrice.objects.get(plan__code="pro", currency="USD").price_month
    PlanPrice.objects.filter(plan__code="pro", currency="USD").update(price_month=original + 1_000)
    sync_catalog()
    PlanPrice.objects.filter(plan__code="pro", currency="USD").update(price_month=original)
    sync_catalog()
    row = StripePrice.objects.get(lookup_key=key, is_current=True)
    assert row.unit_amount == original
    held = fake_stripe.objects[row.stripe_price_id]
    assert held["active"] in (True, "true"), f"{row.stripe_price_id} is deactivated in Stripe"
    assert held["lookup_key"] == key


# --- 4. Stripe invoices: paying now with another card, and credit applied from the customer's balance ---------


@pytest.fixture
def acme_invoice(fake_stripe, catalog, org):
    """Acme's Stripe invoice in_acme (Team, 3 seats) in whatever state Stripe holds it."""
    customer = stripe_customer_ensure(org)
    lines = team_lines(catalog)

    def state(status, **fields):
        extra = {key: fields.pop(key) for key in ("amount_due", "amount_remaining", "starting_balance")
                 if key in fields}
        data = invoice(invoice_id="in_acme", customer=customer, sub_id="sub_acme", status=status, lines=lines,
                       number="ACME-0001", finalized_at=T, **fields)
        data.update(extra)
        return fake_stripe.put(data)

    return state


def test_pay_now_with_another_card_after_a_decline_reaches_stripe(fake_stripe, replaying, acme_invoice, deliver):
    """Stripe's first attempt failed (attempt_count 1); the owner clicks Pay now, the card is declined, the owner
    puts another card on file and clicks Pay now again. The key is `stripe-invoice:<id>:<attempt_count + 1>`, and
    Stripe counts only automatic retries after the first attempt, so the second click sends the same key: Stripe
    replays the decline and the new card is never tried, until Stripe's next automatic retry. Expected: each
    Pay now is a new attempt, and the second one pays the invoice."""
    deliver(event("invoice.payment_failed", acme_invoice("open", attempt_count=1), created=T + 60))
    mirror = Invoice.objects.get(stripe_invoice_id="in_acme")
    assert mirror.status == InvoiceStatus.PAST_DUE

    fake_stripe.fail("POST", "/v1/invoices/in_acme/pay", 402, "card_declined", "Your card was declined.",
                     "card_error")
    assert not invoice_collect(invoice=mirror, actor=ACTOR, on_session=True).succeeded
    # Stripe's answer to the manual attempt: still attempt 1 (manual attempts after the first are not counted).
    deliver(event("invoice.payment_failed", acme_invoice("open", attempt_count=1), created=T + 120))
    fake_stripe.failures.clear()  # the owner's new card works

    mirror = Invoice.objects.get(stripe_invoice_id="in_acme")
    result = invoice_collect(invoice=mirror, actor=ACTOR, on_session=True)
    first, second = fake_stripe.calls("POST", "/v1/invoices/in_acme/pay")
    assert result.succeeded, f"Stripe replayed the decline for the reused key {second.idempotency_key}"
    assert first.idempotency_key != second.idempotency_key


def test_credit_from_the_customer_balance_is_not_shown_as_owed(fake_stripe, acme_invoice, deliver):
    """Stripe applied 38.13 of the customer's credit balance to an 88.13 invoice: Stripe charges (and asks for)
    50.00, then reports it paid with amount_paid 50.00. The mirror keeps total and amount_paid only, so its amount
    due (total - paid) says 88.13 while open, and 38.13 still due on the paid invoice (its PDF, the API and the
    invoice list show it). Expected: the mirror owes what Stripe says is due: 50.00, then nothing."""
    opened = acme_invoice("open", tax=313, starting_balance=-3_813, amount_due=5_000, amount_remaining=5_000)
    deliver(event("invoice.finalized", opened, created=T + 60))
    mirror = Invoice.objects.get(stripe_invoice_id="in_acme")
    assert mirror.total == 8_813
    assert mirror.amount_due == Money(5_000, "USD")

    paid = acme_invoice("paid", tax=313, starting_balance=-3_813, amount_due=5_000, amount_remaining=0,
                        amount_paid=5_000, paid_at=T + 120)
    deliver(event("invoice.paid", paid, created=T + 120))
    mirror = Invoice.objects.get(stripe_invoice_id="in_acme")
    assert (mirror.status, mirror.amount_due) == (InvoiceStatus.PAID, Money(0, "USD"))
