"""Many events, duplicated and out of order, end where an orderly delivery ends (issue 9's burst, smaller)."""

import random

import pytest

from billing_portal.payments.stripe_customers import stripe_customer_ensure
from billing_portal.subscriptions.models import Subscription
from invoices.models import Invoice
from tests.factories import make_org
from tests.stripe.builders import PERIOD_START, event, invoice, line, subscription

pytestmark = pytest.mark.django_db
T = PERIOD_START + 600
STEPS = 45


def timeline(fake_stripe, catalog, org, suffix):
    """Stripe's changes to one org, each as (event, the object as Stripe held it then)."""
    customer = stripe_customer_ensure(org)
    base, seat = catalog("bp:team:base:month:usd"), catalog("bp:team:seat:month:usd")
    steps = []
    for step in range(STEPS):
        state = subscription(
            sub_id=f"sub_{suffix}",
            customer=customer,
            org_id=org.pk,
            items=[(base, 1), (seat, 2 + step % 7)],
            cancel_at_period_end=step % 5 == 4,
            status="past_due" if step % 11 == 10 else "active",
        )
        kind = "customer.subscription.created" if step == 0 else "customer.subscription.updated"
        steps.append(event(kind, state, created=T + step))
    lines = [line(price=base, amount=4_900, quantity=1, description="1 × Team")]
    for step, (kind, status, attempts, paid) in enumerate(
        [
            ("invoice.created", "draft", 0, 0),
            ("invoice.finalized", "open", 0, 0),
            ("invoice.payment_failed", "open", 1, 0),
            ("invoice.payment_failed", "open", 2, 0),
            ("invoice.paid", "paid", 3, 4_900),
        ]
    ):
        state = invoice(
            invoice_id=f"in_{suffix}",
            customer=customer,
            sub_id=f"sub_{suffix}",
            status=status,
            lines=lines,
            number=None if status == "draft" else f"{suffix.upper()}-1",
            attempt_count=attempts,
            amount_paid=paid,
        )
        steps.append(event(kind, state, created=T + 10 * step))
    return steps


def deliver_all(fake_stripe, deliver, events):
    for item in events:
        # Worst case for ordering: each delivery reads Stripe as it was when its event was created.
        fake_stripe.put(item["data"]["object"])
        assert deliver(item).status_code == 200


def final_state(org):
    sub = Subscription.objects.get(org=org)
    bill = Invoice.objects.get(org=org, kind="stripe")
    return (
        sub.plan.code,
        sub.status,
        sub.seat_quantity,
        sub.cancel_at_period_end,
        sub.stripe_state_at,
        sub.current_period_end,
        bill.status,
        bill.attempt_count,
        bill.amount_paid,
        bill.total,
        list(bill.events.values_list("kind", flat=True)),
        list(bill.lines.values_list("amount", flat=True)),
    )


def test_a_duplicated_and_reordered_burst_ends_in_the_orderly_state(fake_stripe, catalog, deliver):
    orderly, burst = make_org(name="Orderly"), make_org(name="Burst")
    deliver_all(fake_stripe, deliver, timeline(fake_stripe, catalog, orderly, "orderly"))
    events = timeline(fake_stripe, catalog, burst, "burst")
    shuffled = random.Random(9).sample(events, len(events))
    shuffled += random.Random(3).sample(events, len(events) // 2)  # a third of the burst are duplicates
    deliver_all(fake_stripe, deliver, shuffled)
    expected, got = final_state(orderly), final_state(burst)
    assert got == expected
    assert got[2] == 2 + (STEPS - 1) % 7 and got[6] == "paid"
