"""Races on PostgreSQL between usage, credits, plan changes and closure: real threads, invariants after each."""

import threading

import pytest
from django.db import transaction
from django.db.models import Sum

from billing_portal.audit.models import AuditEntry
from metering.models import CreditEntry, CreditPool, UsageCounter
from metering.services import UsageAnswer, UsageInput, credits_grant, usage_record
from tests.concurrency import in_thread, lock_waiters, run_concurrently, wait_for
from tests.factories import actions_after_closure
from tests.metering.helpers import ACTOR, hold_org_counter, metered_org, record, reload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _ledger_matches(org):
    for pool in CreditPool.objects.filter(org=org):
        sums = CreditEntry.objects.filter(pool=pool).aggregate(a=Sum("allotment_delta"), t=Sum("topup_delta"))
        assert (sums["a"] or 0, sums["t"] or 0) == (pool.allotment_balance, pool.topup_balance), pool


def test_staff_credit_grants_racing_multi_meter_usage_batches_never_deadlock():
    """A staff grant (admin) while a client product sends batches that use two meters: neither may fail."""
    org = metered_org("team")
    batches = iter(range(10**6))
    lock = threading.Lock()

    def batch():
        with lock:
            n = next(batches)
        return usage_record(org=reload(org), events=[
            UsageInput(key=f"b{n}-a", meter="ai_tokens", quantity=1, model="gpt-4o"),
            UsageInput(key=f"b{n}-t", meter="tool_calls", quantity=1),
        ])

    def single():
        with lock:
            n = next(batches)
        return usage_record(org=reload(org), events=[UsageInput(key=f"s{n}", meter="tool_calls", quantity=1)])

    def work(index):
        outcomes = []
        for _ in range(25):
            if index % 3 == 0:
                outcomes.append(credits_grant(org=reload(org), credits=5, reason="goodwill", actor=ACTOR))
            elif index % 3 == 1:
                outcomes.append(batch())
            else:
                outcomes.append(single())
        return outcomes

    for _round in range(4):
        results = run_concurrently(work, 6)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors
    _ledger_matches(org)
    assert AuditEntry.objects.filter(org=org, action="credits.granted").count() == 4 * 2 * 25
    assert UsageCounter.objects.get(org=org, meter="tool_calls", subject="org").used == 4 * 4 * 25



def test_a_staff_grant_and_a_two_meter_batch_queued_behind_a_busy_counter_do_not_deadlock():
    """Usage is flowing (a request holds the tool_calls counter for its write); a staff grant arrives and waits
    for it, then a client's batch using ai_tokens and tool_calls arrives. When the first request commits, both
    must go through: a deadlock that PostgreSQL breaks surfaces as an exception to one of them."""
    org = metered_org("team")
    release, locked = threading.Event(), threading.Event()
    results: dict[str, object] = {}


    def grant():
        return credits_grant(org=reload(org), credits=50, reason="goodwill", actor=ACTOR)

    def batch():
        return usage_record(org=reload(org), events=[
            UsageInput(key="b-a", meter="ai_tokens", quantity=1, model="gpt-4o"),
            UsageInput(key="b-t", meter="tool_calls", quantity=1),
        ])

    threads = [in_thread(lambda: hold_org_counter(org, locked, release), results, "holder")]
    try:
        assert locked.wait(10)
        threads.append(in_thread(grant, results, "grant"))
        wait_for(lambda: lock_waiters() >= 1)
        threads.append(in_thread(batch, results, "batch"))
        wait_for(lambda: lock_waiters() >= 2)
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert not isinstance(results["grant"], BaseException), results["grant"]
    assert not isinstance(results["batch"], BaseException), results["batch"]
    assert all(isinstance(o, UsageAnswer) for o in results["batch"]), results["batch"]
    _ledger_matches(org)


def test_a_new_members_first_call_racing_two_meter_batches_never_deadlocks():
    """On a per-member plan a member's first call opens its pool (credits_pools_ready, which re-upserts every
    counter of the window); meanwhile other calls of the org keep coming. Two usage calls must never deadlock."""
    from accounts.models import Membership
    from accounts.services import membership_remove
    from tests.factories import add_member

    org = metered_org("pro")  # per-member pools, 10 members at most
    owner = Membership.objects.get(org=org, role="owner")
    counter = iter(range(10**6))
    lock = threading.Lock()

    def key(prefix):
        with lock:
            return f"{prefix}{next(counter)}"

    failures = []
    for _round in range(5):
        members = [add_member(org) for _ in range(3)]

        def work(index, members=members):
            if index < len(members):  # each new member's very first call
                return record(org, "tool_calls", 1, key=key("m"), user=members[index].user.email)
            return [
                usage_record(org=reload(org), events=[
                    UsageInput(key=key("a"), meter="ai_tokens", quantity=1, model="gpt-4o"),
                    UsageInput(key=key("t"), meter="tool_calls", quantity=1),
                ])
                for _ in range(10)
            ]

        results = run_concurrently(work, 6)
        failures += [
            ("new member" if i < 3 else "batch", r) for i, r in enumerate(results) if isinstance(r, BaseException)
        ]
        for member in members:
            membership_remove(membership=member, by=owner)
    assert not failures, failures
    _ledger_matches(org)


def test_closing_the_account_while_a_top_up_is_bought_charges_nothing_after_the_closure():
    """The owner buys a top-up in one tab and closes the account in another. "Closing an org cancels at once and
    for good (no top-ups ... after it)": the purchase either comes first or is refused; the closure never fails."""
    from uuid import uuid4

    from accounts.models import Membership
    from billing_portal.core.errors import BillingError
    from billing_portal.payments.models import Charge, TestCard
    from billing_portal.subscriptions.models import Status, Subscription
    from billing_portal.subscriptions.services.closure import org_request_closure
    from metering.models import TopupPack
    from metering.services import credits_topup_purchase

    pack = TopupPack.objects.get(code="credits-1k")
    problems = []
    for round_ in range(6):
        org = metered_org("team", name=f"Round {round_}", card=TestCard.SUCCEEDS)
        buyer = Membership.objects.get(org=org, role="owner")

        def act(index, org=org, buyer=buyer):
            if index == 0:
                return org_request_closure(org=reload(org), by=buyer, actor=ACTOR, reason="Leaving")
            return credits_topup_purchase(org=reload(org), pack=pack, by=buyer, actor=ACTOR, request_key=uuid4())

        closed, bought = run_concurrently(act, 2)
        after_closure = actions_after_closure(org)
        raised = [r for r in (closed, bought) if isinstance(r, BaseException) and not isinstance(r, BillingError)]
        if raised or Subscription.objects.get(org=org).status != Status.CANCELED or (
                {"invoice.paid", "credits.topped_up"} & set(after_closure)):
            problems.append((round_, closed, bought, after_closure,
                             list(Charge.objects.filter(org=org).values_list("amount", flat=True))))
    assert not problems, problems


def test_an_api_key_created_while_the_account_is_closed_does_not_outlive_the_closure():
    """An admin creates an API key on the API keys tab while the owner closes the account. "No API keys after
    it": either the key was made first (and the closure revokes it) or creating it is refused."""
    from accounts.models import Membership
    from billing_portal.api.keys import api_key_create
    from billing_portal.api.models import ApiKey
    from billing_portal.audit.services import Actor
    from billing_portal.core.errors import BillingError
    from billing_portal.subscriptions.services.closure import org_request_closure

    problems = []
    for round_ in range(20):
        org = metered_org("team", name=f"Round {round_}")
        owner = Membership.objects.get(org=org, role="owner")

        def act(index, org=org, owner=owner):
            if index == 0:
                return org_request_closure(org=reload(org), by=owner, actor=ACTOR, reason="Leaving")
            return api_key_create(org=reload(org), name="ci", kind="live", scopes=["usage", "billing:read"],
                                  actor=Actor.for_user(owner.user), may_grant_billing_write=True)

        closed, created = run_concurrently(act, 2)
        live = list(ApiKey.objects.filter(org=org, revoked_at__isnull=True).values_list("prefix", flat=True))
        raised = [r for r in (closed, created) if isinstance(r, BaseException) and not isinstance(r, BillingError)]
        if raised or live:
            problems.append((round_, closed, created, live))
    assert not problems, problems


def test_a_top_up_bought_while_the_owner_upgrades_never_deadlocks_and_lands_where_it_can_be_spent():
    """Pro (per-member credits) to Team (one pooled balance): the upgrade moves members' top-ups into the pool.
    A top-up paid at the same moment must end up in the pool too, not in a member pool that Team never spends
    from (paid credits that can never be used)."""
    from uuid import uuid4

    from accounts.models import Membership
    from billing_portal.catalog.models import Plan
    from billing_portal.core.errors import BillingError
    from billing_portal.payments.models import TestCard
    from billing_portal.subscriptions.services.changes import (
        subscription_change_plan,
        subscription_preview_change,
    )
    from metering.models import TopupPack
    from metering.services import credits_topup_purchase

    pack = TopupPack.objects.get(code="credits-1k")
    team = Plan.objects.get(code="team")
    problems = []
    for round_ in range(6):
        org = metered_org("pro", name=f"Round {round_}", card=TestCard.SUCCEEDS)
        buyer = Membership.objects.get(org=org, role="owner")
        preview = subscription_preview_change(org=org, plan=team, interval="month", by=buyer)

        def act(index, org=org, buyer=buyer, preview=preview):
            if index == 0:
                return credits_topup_purchase(org=reload(org), pack=pack, by=buyer, actor=ACTOR,
                                              request_key=uuid4())
            return subscription_change_plan(org=reload(org), plan=team, interval="month", by=buyer, actor=ACTOR,
                                            proration_at=preview.proration_at,
                                            expected_amount=preview.amount_due)

        bought, upgraded = run_concurrently(act, 2)
        raised = [r for r in (bought, upgraded) if isinstance(r, BaseException) and not isinstance(r, BillingError)]
        stranded = list(CreditPool.objects.filter(org=org, member__isnull=False, topup_balance__gt=0)
                        .values_list("member_id", "topup_balance"))
        org_pool = CreditPool.objects.filter(org=org, member__isnull=True).values_list("topup_balance", flat=True)
        _ledger_matches(org)
        if raised or (reload(org).subscription.plan.pooled_credits and stranded):
            problems.append((round_, bought, upgraded, stranded, list(org_pool)))
    assert not problems, problems


def test_a_paid_top_up_credited_while_an_upgrade_to_a_pooled_plan_commits_is_not_stranded_in_a_member_pool():
    """The tail of a top-up purchase (the invoice is paid, the credits are granted) meets an upgrade from Pro
    (per-member pools) to Team (one pooled balance) that commits while the grant waits for the credit window
    (a staff grant holds it a moment). The grant was aimed using the plan read before the upgrade committed; on
    Team only the org pool is ever spent, so 1,000 paid credits left in the owner's member pool are lost."""
    from accounts.models import Membership
    from billing_portal.catalog.models import Plan
    from billing_portal.payments.models import TestCard
    from billing_portal.payments.services import invoice_collect
    from billing_portal.subscriptions.services.changes import (
        subscription_change_plan,
        subscription_preview_change,
    )
    from metering.models import TopupPack, UsageWindow
    from metering.selectors import credit_balance
    from metering.services import credits_topup_fulfil
    from metering.services.credits import _topup_invoice
    from tests.metering.helpers import START

    org = metered_org("pro", card=TestCard.SUCCEEDS)
    owner = Membership.objects.get(org=org, role="owner")
    pack = TopupPack.objects.get(code="credits-1k")
    team = Plan.objects.get(code="team")
    # The purchase up to its payment, as credits_topup_purchase does it.
    invoice = _topup_invoice(org, pack, pack.prices.get(currency="USD").amount, owner, ACTOR, None, START)
    assert invoice_collect(invoice=invoice, actor=ACTOR, on_session=True).succeeded
    preview = subscription_preview_change(org=org, plan=team, interval="month", by=owner)
    release, locked = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def staff_grant_holding_the_window():
        with transaction.atomic():
            UsageWindow.objects.select_for_update().get(org=org)
            locked.set()
            release.wait(30)

    def upgrade():
        return subscription_change_plan(org=reload(org), plan=team, interval="month", by=owner, actor=ACTOR,
                                        proration_at=preview.proration_at, expected_amount=preview.amount_due)

    threads = [in_thread(staff_grant_holding_the_window, results, "holder")]
    try:
        assert locked.wait(10)
        threads.append(in_thread(upgrade, results, "upgrade"))
        wait_for(lambda: lock_waiters() >= 1)  # the upgrade is charged and waits to reseed the credits
        threads.append(in_thread(lambda: credits_topup_fulfil(invoice=invoice, actor=ACTOR), results, "credit"))
        wait_for(lambda: lock_waiters() >= 2)  # the top-up's grant waits too
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert results["upgrade"].applied, results["upgrade"]
    assert not isinstance(results["credit"], BaseException), results["credit"]
    _ledger_matches(org)
    org = reload(org)
    assert org.subscription.plan.code == "team"
    assert credit_balance(org=org).topups == 1_000  # the Credits tab shows the 1,000 paid credits
    # Spend everything but them: the next call must be paid from the top-up.
    from metering.services import credits_revoke

    credits_revoke(org=org, credits=CreditPool.objects.get(org=org, member__isnull=True).allotment_balance,
                   reason="spent", actor=ACTOR)
    outcome = record(org, "tool_calls", 1)
    stranded = list(CreditPool.objects.filter(org=org, member__isnull=False, topup_balance__gt=0)
                    .values_list("member_id", "topup_balance"))
    assert isinstance(outcome, UsageAnswer), (outcome, f"top-up credits left in member pools: {stranded}")
