"""A burst of 525 signed Stripe webhook deliveries, a third of them duplicates and all of them out of order,
posted through dj-stripe's real endpoint, ends in the same state as an orderly delivery of the same events."""

from __future__ import annotations

import random

import pytest

from billing_portal.payments.models import StripeEventReceipt
from tests.factories import make_org
from tests.stripe.test_burst import deliver_all, final_state, timeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ORGS = 7  # 50 events each: 350 events, and 175 duplicate deliveries


def test_525_deliveries_duplicated_and_shuffled_end_where_orderly_delivery_ends(fake_stripe, catalog, deliver):
    pairs = [(make_org(name=f"Orderly {n}"), make_org(name=f"Burst {n}")) for n in range(ORGS)]
    events = []
    for n, (orderly, burst) in enumerate(pairs):
        deliver_all(fake_stripe, deliver, timeline(fake_stripe, catalog, orderly, f"orderly{n}"))
        events += timeline(fake_stripe, catalog, burst, f"burst{n}")
    rng = random.Random(9)
    duplicates = [rng.choice(events) for _ in range(len(events) // 2)]
    burst = rng.sample(events + duplicates, len(events) + len(duplicates))
    assert len(burst) == 525 and len({event["id"] for event in burst}) == 350
    deliver_all(fake_stripe, deliver, burst)
    for orderly, burst_org in pairs:
        assert final_state(burst_org) == final_state(orderly)
    receipts = StripeEventReceipt.objects.filter(event_id__in=[event["id"] for event in events])
    assert receipts.count() == 350  # every event recorded once; the duplicates changed nothing
