"""Changes that wait for the period end take effect whole at it, whichever of beat's jobs or a usage call comes
first: the new plan's limits and allotment, the pooled credits' fate and the new interval's anchor."""

from datetime import UTC, datetime

import pytest

from billing_portal.subscriptions.jobs import run_job
from billing_portal.subscriptions.services.changes import subscription_cancel, subscription_change_plan
from invoices.models import Invoice, InvoiceKind
from metering.models import CreditPool, TopupPack, UsageCounter
from metering.services import credits_topup_purchase
from tests.factories import make_org
from tests.metering.helpers import move_clock, record
from tests.subscriptions.helpers import ACTOR, advance, owner, plan

pytestmark = pytest.mark.django_db

JAN10, FEB10 = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)


def org_quota(org, meter="tool_calls"):
    return UsageCounter.objects.get(org=org, meter=meter, window_start=FEB10, subject="org").quota


@pytest.mark.parametrize("jobs", [("renewal", "cycle_reset"), ("cycle_reset", "renewal")])
def test_a_downgrade_brings_the_lower_limits_and_allotment_whichever_job_runs_first(jobs):
    org = make_org(plan="pro", clock_at=JAN10)
    outcome = subscription_change_plan(org=org, plan=plan("starter"), interval="month", by=owner(org), actor=ACTOR)
    assert outcome.scheduled_for == FEB10
    org = move_clock(org, FEB10)
    for job in jobs:  # two beat entries: nothing orders them
        run_job(job, org=org)
    org.subscription.refresh_from_db()
    assert org.subscription.plan.code == "starter"
    assert org_quota(org) == 10_000  # Starter's, not Pro's 50,000
    assert CreditPool.objects.get(org=org).allotment_balance == 1_000  # Starter's, not Pro's 5,000


def test_a_cancellation_brings_free_limits_after_a_usage_call_opened_the_new_window():
    org = make_org(plan="team", clock_at=JAN10)
    record(org)
    subscription_cancel(org=org, by=owner(org), actor=ACTOR)
    org = move_clock(org, FEB10)
    record(org)  # lands at the period end, before the renewal job (beat runs it within minutes)
    run_job("renewal", org=org)
    org.subscription.refresh_from_db()
    assert org.subscription.plan.code == "free"
    assert org_quota(org) == 1_000  # Free's, not Team's 100,000
    assert not CreditPool.objects.filter(org=org, member__isnull=True, allotment_balance__gt=0).exists()


def test_team_to_a_per_member_plan_at_the_period_end_forfeits_the_pooled_top_ups():
    org = make_org(plan="team", clock_at=JAN10)
    record(org)
    credits_topup_purchase(org=org, pack=TopupPack.objects.get(code="credits-1k"), by=owner(org), actor=ACTOR)
    subscription_change_plan(org=org, plan=plan("pro"), interval="month", by=owner(org), actor=ACTOR)
    org = advance(org, FEB10)
    assert org.subscription.plan.code == "pro"
    pool = CreditPool.objects.get(org=org, member__isnull=True)
    assert (pool.allotment_balance, pool.topup_balance) == (0, 0)  # no per-member plan can spend the pool


def test_a_scheduled_move_to_yearly_bills_a_year_from_the_period_end():
    org = make_org(plan="team", clock_at=JAN10)  # monthly
    outcome = subscription_change_plan(org=org, plan=plan("pro"), interval="year", by=owner(org), actor=ACTOR)
    assert not outcome.applied and outcome.scheduled_for == FEB10  # a lower plan waits for the period end
    org = advance(org, FEB10)
    subscription = org.subscription
    year = (FEB10, datetime(2027, 2, 10, tzinfo=UTC))
    assert (subscription.plan.code, subscription.interval) == ("pro", "year")
    assert (subscription.current_period_start, subscription.current_period_end) == year
    renewal = Invoice.objects.get(org=org, kind=InvoiceKind.RENEWAL)
    assert (renewal.total, (renewal.period_start, renewal.period_end)) == (44_100, year)
