"""Trials, renewals with seat prorations, past due and recovery, and jobs that never act twice."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from accounts import services as accounts
from billing_portal.core.models import TestClock
from billing_portal.payments.models import Charge, TestCard
from billing_portal.payments.services import payment_method_add_test_card
from billing_portal.subscriptions.jobs import run_due_jobs, run_job
from billing_portal.subscriptions.models import JobRun, Status
from billing_portal.subscriptions.policy import capabilities
from billing_portal.subscriptions.services.dunning import subscription_payment_method_added
from invoices.models import Invoice, InvoiceKind, InvoiceStatus, LineKind
from tests.concurrency import run_concurrently
from tests.factories import add_member, make_org
from tests.subscriptions.helpers import ACTOR, advance, owner

JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
FEB10 = datetime(2026, 2, 10, tzinfo=UTC)


@pytest.mark.django_db
def test_trial_converts_with_a_card_and_warns_three_days_before():
    org = make_org(plan="pro", trial=True, clock_at=JAN10, card=TestCard.SUCCEEDS)
    trial_end = JAN10 + timedelta(days=14)
    assert org.subscription.status == Status.TRIALING and org.subscription.trial_end == trial_end
    org = advance(org, trial_end - timedelta(days=3))
    assert [m.subject for m in mail.outbox] == [f"Your Pro trial for {org.name} ends Jan 24"]
    org = advance(org, trial_end - timedelta(days=2))  # no second warning
    assert len(mail.outbox) == 1
    org = advance(org, trial_end)
    subscription = org.subscription
    assert subscription.status == Status.ACTIVE
    assert (subscription.billing_anchor, subscription.current_period_end) == (
        trial_end, datetime(2026, 2, 24, tzinfo=UTC)
    )
    first = Invoice.objects.get(org=org, kind=InvoiceKind.SUBSCRIPTION_START)
    assert (first.total, first.status) == (4_900, InvoiceStatus.PAID)


@pytest.mark.django_db
def test_trial_without_a_card_pauses_metered_work_until_a_card_arrives():
    org = make_org(plan="pro", trial=True, clock_at=JAN10)
    org = advance(org, JAN10 + timedelta(days=15))
    assert org.subscription.status == Status.PAUSED
    assert capabilities(org.subscription.status).run_metered_work is False
    assert not Invoice.objects.filter(org=org).exists()
    payment_method_add_test_card(org=org, card=TestCard.SUCCEEDS, actor=ACTOR)
    subscription_payment_method_added(org=org, actor=ACTOR)
    org.subscription.refresh_from_db()
    assert org.subscription.status == Status.ACTIVE
    assert org.subscription.billing_anchor == JAN10 + timedelta(days=15)
    assert Invoice.objects.get(org=org).status == InvoiceStatus.PAID


@pytest.mark.django_db
def test_renewal_bills_seat_changes_prorated_to_the_day():
    org = make_org(plan="team", clock_at=JAN10)
    org = advance(org, datetime(2026, 1, 20, 9, tzinfo=UTC))
    first, second = add_member(org), add_member(org)
    org = advance(org, datetime(2026, 1, 25, 9, tzinfo=UTC))
    accounts.membership_remove(membership=first, by=owner(org))
    org = advance(org, datetime(2026, 1, 27, 9, tzinfo=UTC))
    same_day = add_member(org)
    accounts.membership_remove(membership=same_day, by=owner(org))  # nets to zero
    org = advance(org, FEB10)
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    lines = list(renewal.lines.values_list("kind", "quantity", "amount"))
    assert lines == [
        (LineKind.PLAN, 1, 4_900),
        (LineKind.SEATS, 2, 2_400),  # owner and `second`
        (LineKind.SEAT_PRORATION, 1, 1_626),  # +2 seats for 21 of 31 days: 2,400 x 21/31 = 1,625.8
        (LineKind.SEAT_PRORATION, 1, -619),  # -1 seat for 16 of 31 days: 1,200 x 16/31 = 619.35
    ]
    assert renewal.total == 4_900 + 2_400 + 1_626 - 619
    assert second.removed_at is None


@pytest.mark.django_db
def test_a_seat_added_after_the_period_end_but_before_the_renewal_job_is_not_prorated_into_a_credit():
    org = make_org(plan="team", clock_at=JAN10)
    late = FEB10 + timedelta(days=2)
    TestClock.objects.filter(pk=org.test_clock_id).update(frozen_time=late)  # the renewal job has not run yet
    add_member(org)
    org = advance(org, late + timedelta(minutes=1))
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    # The new period bills both seats in full; the two days past the old period owe nothing and credit nothing.
    assert list(renewal.lines.values_list("kind", "quantity", "amount")) == [
        (LineKind.PLAN, 1, 4_900),
        (LineKind.SEATS, 2, 2_400),
    ]


@pytest.mark.django_db
def test_past_due_retries_then_recovers_with_a_new_card():
    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.DECLINES, actor=ACTOR)
    org = advance(org, FEB10)
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert (renewal.status, org.subscription.status) == (InvoiceStatus.PAST_DUE, Status.PAST_DUE)
    org = advance(org, FEB10 + timedelta(days=1))  # first retry fails too
    renewal.refresh_from_db()
    assert renewal.attempt_count == 2 and renewal.next_payment_attempt_at == FEB10 + timedelta(days=4)
    payment_method_add_test_card(org=org, card=TestCard.SUCCEEDS, actor=ACTOR)
    subscription_payment_method_added(org=org, actor=ACTOR)
    renewal.refresh_from_db()
    org.subscription.refresh_from_db()
    assert (renewal.status, org.subscription.status) == (InvoiceStatus.PAID, Status.ACTIVE)
    assert list(Charge.objects.filter(invoice=renewal).values_list("status", flat=True)) == [
        "succeeded", "failed", "failed"]  # newest first


@pytest.mark.django_db
def test_when_every_retry_fails_the_org_moves_to_free():
    org = make_org(plan="starter", clock_at=JAN10)
    payment_method_add_test_card(org=org, card=TestCard.NEEDS_ATTENTION, actor=ACTOR)
    for day in (0, 1, 4, 9):  # the first attempt, then retries 1, 3 and 5 days after each failure
        org = advance(org, FEB10 + timedelta(days=day))
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert renewal.status == InvoiceStatus.UNCOLLECTIBLE and renewal.attempt_count == 4
    assert (org.subscription.plan.code, org.subscription.status) == ("free", Status.ACTIVE)


@pytest.mark.django_db
def test_jobs_run_twice_change_nothing_the_second_time():
    org = make_org(plan="pro", clock_at=JAN10)
    org = advance(org, FEB10)
    snapshot = (Invoice.objects.count(), Charge.objects.count(), JobRun.objects.count())
    assert run_due_jobs(org=org)[-1].processed == 0
    assert run_job("renewal").processed == 0
    assert (Invoice.objects.count(), Charge.objects.count(), JobRun.objects.count()) == snapshot


@pytest.mark.django_db
def test_a_clock_moved_months_ahead_catches_up_period_by_period():
    org = make_org(plan="pro", clock_at=JAN10)
    org = advance(org, datetime(2026, 5, 20, tzinfo=UTC))
    starts = list(Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).order_by("period_start")
                  .values_list("period_start__month", flat=True))
    assert starts == [2, 3, 4, 5]
    assert org.subscription.current_period_end == datetime(2026, 6, 10, tzinfo=UTC)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_renew_once():
    orgs = [make_org(name=f"Org {n}", plan="pro", clock_at=JAN10) for n in range(4)]
    from billing_portal.core.models import TestClock

    TestClock.objects.update(frozen_time=FEB10)
    results = run_concurrently(lambda _: run_job("renewal").processed, 4)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) == 4  # each org renewed by exactly one of the beats
    for org in orgs:
        assert Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL).count() == 1
        assert Charge.objects.filter(org=org).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_keep_seats_exact_and_respect_the_member_limit():
    from accounts.models import User

    team = make_org(name="Team", plan="team", clock_at=JAN10)
    starter = make_org(name="Starter", plan="starter", clock_at=JAN10)  # 3 members at most
    tokens = {}
    for org, count in ((team, 10), (starter, 5)):
        for n in range(count):
            email = f"{org.slug}-{n}@example.com"
            User.objects.create_user(email=email, password="x")
            tokens.setdefault(org.pk, []).append(
                (email, accounts.invitation_create(org=org, email=email, role="member", by=owner(org))[1]))
    jobs = [(email, token) for org_tokens in tokens.values() for email, token in org_tokens]

    def accept(index):
        email, token = jobs[index]
        return accounts.invitation_accept(token=token, user=User.objects.get(email=email))

    results = run_concurrently(accept, len(jobs))
    refused = [r for r in results if isinstance(r, BaseException)]
    assert {type(r).__name__ for r in refused} == {"BillingLimitReached"} and len(refused) == 3
    for org, seats in ((team, 11), (starter, 3)):
        org.subscription.refresh_from_db()
        assert org.subscription.seat_quantity == seats == org.memberships.filter(removed_at__isnull=True).count()
        chain = list(org.subscription.seat_changes.order_by("id").values_list("previous_quantity", "quantity"))
        assert all(prev + 1 == quantity for prev, quantity in chain) and chain[-1][1] == seats


@pytest.mark.django_db
def test_a_late_trial_reminder_is_not_sent_once_the_trial_has_ended():
    org = make_org(plan="pro", trial=True, clock_at=JAN10)  # ends Jan 24, no card
    mail.outbox.clear()
    # Beat was down: the clock passed the reminder and the trial's end, and every job then runs late, at once.
    TestClock.objects.filter(pk=org.test_clock_id).update(frozen_time=JAN10 + timedelta(days=20))
    run_due_jobs(org=org)
    org.subscription.refresh_from_db()
    assert org.subscription.status == Status.PAUSED
    assert [message.subject for message in mail.outbox] == ["Your Pro trial for Acme has ended"]
