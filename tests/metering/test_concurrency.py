"""Races on PostgreSQL: real threads, each with its own connection, started together."""

import threading
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db.models import Sum

from accounts.models import Membership, Role, Space
from accounts.services import space_create
from billing_portal.core.errors import BillingLimitReached, Conflict
from billing_portal.payments.models import Charge, TestCard
from billing_portal.payments.services import payment_method_add_test_card
from invoices.models import Invoice, InvoiceKind
from metering.errors import ConcurrencyLimitReached
from metering.models import (
    CreditAlert,
    CreditEntry,
    CreditPool,
    EntryKind,
    TopupPack,
    TopupPurchase,
    UsageCounter,
    UsageEvent,
    UsageSession,
)
from metering.services import (
    UsageAnswer,
    UsageInput,
    credits_cycle_reset,
    credits_revoke,
    credits_topup_purchase,
    session_open,
    usage_record,
)
from tests.concurrency import in_thread, lock_waiters, run_concurrently, wait_for
from tests.factories import add_member
from tests.metering.helpers import ACTOR, START, api_client, hold_org_counter, metered_org, move_clock, record, reload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_identical_events_at_once_count_once():
    org = metered_org("team")
    client_factory = lambda _: api_client(org)  # noqa: E731
    clients = [client_factory(n) for n in range(20)]
    results = run_concurrently(
        lambda n: clients[n].post(
            "/api/v2/usage/events", {"id": "same", "meter": "tool_calls", "quantity": 3}, format="json"
        ),
        20,
    )
    assert sorted(r.status_code for r in results) == [200] * 19 + [201]
    assert {r.json()["used"] for r in results} == {3}
    assert UsageCounter.objects.get(org=org, meter="tool_calls", subject="org").used == 3
    assert UsageEvent.objects.filter(org=org).count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.DEBIT).count() == 1


def test_twenty_identical_test_key_events_at_once_are_stored_once():
    org = metered_org("team")  # test-key events lock no counter: only the key's unique constraint orders them
    results = run_concurrently(lambda n: record(org, "tool_calls", 3, key="same", test_mode=True), 20)
    assert all(isinstance(r, UsageAnswer) and not r.counted for r in results), results
    assert sorted(r.replayed for r in results) == [False] + [True] * 19
    assert UsageEvent.objects.filter(org=org).count() == 1


def test_batches_sharing_keys_in_opposite_orders_store_each_key_once_without_deadlock():
    org = metered_org("team")

    def batch(meter, keys):
        return usage_record(org=reload(org), events=[UsageInput(key=key, meter=meter, quantity=1) for key in keys])

    for round_ in range(3):
        keys = [f"r{round_}-{n:04}" for n in range(500)]
        # Different meters: the two batches lock different counters and meet only on their keys.
        orders = [("tool_calls", keys), ("api_requests", keys[::-1])]
        results = run_concurrently(lambda n: batch(*orders[n]), 2)  # noqa: B023 (run before the loop moves on)
        assert all(isinstance(r, list) for r in results), results
        for key in (keys[0], keys[-1]):  # each key answered by the batch that stored it, replayed by the other
            answers = [next(o for o in outcomes if o.key == key) for outcomes in results]
            assert sorted(o.replayed for o in answers) == [False, True], answers
    assert UsageEvent.objects.filter(org=org).count() == 1_500


def test_a_repeated_id_sent_one_after_another_counts_once():
    org = metered_org("team")
    answers = [record(org, "tool_calls", 3, key="again") for _ in range(3)]
    assert [a.replayed for a in answers] == [False, True, True]
    assert UsageCounter.objects.get(org=org, meter="tool_calls", subject="org").used == 3


def test_fifty_threads_spending_one_pool_stop_exactly_at_the_balance():
    org = metered_org("team")
    credits_revoke(org=org, credits=9_000 - 50, reason="leave 50 credits", actor=ACTOR)
    results = run_concurrently(lambda n: record(org, "tool_calls", 2), 50)  # 2 credits each
    assert sum(isinstance(r, UsageAnswer) for r in results) == 25
    assert all(isinstance(r, UsageAnswer | BillingLimitReached) for r in results), results
    pool = CreditPool.objects.get(org=org)
    assert (pool.allotment_balance, pool.topup_balance) == (0, 0)
    assert CreditEntry.objects.filter(pool=pool).aggregate(total=Sum("allotment_delta"))["total"] == 0
    assert UsageCounter.objects.get(org=org, meter="tool_calls", subject="org").used == 50


def test_the_low_balance_alert_is_raised_once_when_many_calls_cross_together():
    org = metered_org("team")  # threshold 1,800
    credits_revoke(org=org, credits=9_000 - 1_900, reason="near the threshold", actor=ACTOR)
    run_concurrently(lambda n: record(org, "tool_calls", 10), 30)
    assert CreditAlert.objects.filter(kind="low").count() == 1
    assert CreditPool.objects.get(org=org).balance == 1_600


def test_quota_is_never_passed_under_parallel_calls():
    org = metered_org("free")  # api_requests hard limit 55,000
    record(org, "api_requests", 54_990)
    results = run_concurrently(lambda n: record(org, "api_requests", 1), 30)
    assert sum(isinstance(r, UsageAnswer) for r in results) == 10
    assert UsageCounter.objects.get(org=org, meter="api_requests", subject="org").used == 55_000


def test_concurrency_slots_never_exceed_the_limit():
    org = metered_org("free")  # 3 slots
    results = run_concurrently(lambda n: session_open(org=reload(org)), 20)
    assert sum(isinstance(r, UsageSession) for r in results) == 3
    assert all(isinstance(r, UsageSession | ConcurrencyLimitReached) for r in results), results


def test_a_cycle_reset_from_many_processes_at_once_happens_once():
    org = move_clock(metered_org("team"), START + timedelta(days=31))
    results = run_concurrently(lambda n: credits_cycle_reset(org=reload(org), actor=ACTOR), 10)
    assert sorted(results) == [False] * 9 + [True]
    assert CreditEntry.objects.filter(kind=EntryKind.ALLOTMENT_GRANT).count() == 2
    assert CreditPool.objects.get(org=org).allotment_balance == 9_000



def test_a_batch_racing_a_request_that_holds_some_of_its_keys_answers_each_event_once():
    org = metered_org("team")
    release, locked = threading.Event(), threading.Event()
    results: dict[str, object] = {}


    def batch(keys):
        return lambda: usage_record(
            org=reload(org), events=[UsageInput(key=key, meter="tool_calls", quantity=2) for key in keys]
        )

    threads = [in_thread(lambda: hold_org_counter(org, locked, release), results, "holder")]
    try:
        assert locked.wait(10)
        threads.append(in_thread(batch([f"k{n}" for n in range(5)]), results, "first"))
        wait_for(lambda: lock_waiters() >= 1)  # the first request claimed its keys and waits for the counter
        threads.append(in_thread(batch([f"k{n}" for n in range(10)]), results, "second"))
        wait_for(lambda: lock_waiters() >= 2)  # the second waits on the first's keys
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    first, second = results["first"], results["second"]
    assert all(isinstance(o, UsageAnswer) and not o.replayed for o in first), first
    assert [o.replayed for o in second] == [True] * 5 + [False] * 5
    assert [o.used for o in second[:5]] == [o.used for o in first] == [2, 4, 6, 8, 10]
    assert [o.used for o in second[5:]] == [12, 14, 16, 18, 20]
    assert UsageCounter.objects.get(org=org, meter="tool_calls", subject="org").used == 20
    assert sorted(UsageEvent.objects.filter(org=org).values_list("key", flat=True)) == sorted(
        f"k{n}" for n in range(10)
    )
    assert CreditEntry.objects.filter(kind=EntryKind.DEBIT).count() == 10


def test_the_first_calls_of_a_new_member_in_a_new_space_from_many_threads_count_exactly():
    org = metered_org("team")
    member = add_member(org)
    space_create(org=org, name="Lab")
    results = run_concurrently(
        lambda n: record(org, "tool_calls", 1, user=member.user.email, space="lab"), 20
    )
    assert all(isinstance(r, UsageAnswer) for r in results), results
    counters = dict(UsageCounter.objects.filter(org=org, meter="tool_calls").values_list("subject", "used"))
    assert counters == {"org": 20, f"member:{member.pk}": 20, f"space:{Space.objects.get(slug='lab').pk}": 20}
    assert UsageCounter.objects.get(org=org, meter="credits", subject=f"member:{member.pk}").used == 20
    assert CreditPool.objects.get(org=org).balance == 9_000 - 20


def test_a_purchase_form_submitted_twice_at_once_charges_once():
    org = metered_org("team")
    payment_method_add_test_card(org=org, card=TestCard.SUCCEEDS, actor=ACTOR)
    buyer, pack = Membership.objects.get(org=org, role=Role.OWNER), TopupPack.objects.get(code="credits-1k")
    key = uuid4()
    results = run_concurrently(
        lambda _: credits_topup_purchase(org=reload(org), pack=pack, by=buyer, actor=ACTOR, request_key=key), 2
    )
    invoices = [r for r in results if isinstance(r, Invoice)]
    in_progress = [r for r in results if isinstance(r, Conflict) and r.code == "in_progress"]
    assert invoices and len(invoices) + len(in_progress) == 2, results  # the same invoice, or "being paid"
    assert {invoice.pk for invoice in invoices} == {TopupPurchase.objects.get(request_key=key).invoice_id}
    assert Charge.objects.filter(org=org, invoice__kind=InvoiceKind.TOPUP).count() == 1
    assert CreditPool.objects.get(org=org, member__isnull=True).topup_balance == 1_000
