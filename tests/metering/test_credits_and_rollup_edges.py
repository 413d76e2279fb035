"""Credits and rollups at their edges: plan round trips, limits left from another plan, members who rejoin,
rollup keys, the quota answer."""

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.services import membership_remove
from billing_portal.catalog.models import Plan, PlanQuota
from billing_portal.core.errors import BillingLimitReached
from billing_portal.subscriptions.models import Status, Subscription
from billing_portal.subscriptions.services.changes import subscription_change_plan
from metering.models import CreditPool
from metering.selectors import credit_balance, usage_breakdown
from metering.services import UsageAnswer, cap_remove, cap_set, credits_grant, credits_reseed_allotment
from tests.factories import add_member
from tests.metering.helpers import ACTOR, api_client, metered_org, record, reload

pytestmark = pytest.mark.django_db
EVENTS, BATCH = reverse("usage-events"), reverse("usage-events-batch")


def owner(org):
    return Membership.objects.get(org=org, role=Role.OWNER, removed_at__isnull=True)


def org_pool(org):
    return CreditPool.objects.get(org=org, member__isnull=True)


def change_plan(org, code):
    org = reload(org)
    outcome = subscription_change_plan(
        org=org, plan=Plan.objects.get(code=code), interval="month", by=owner(org), actor=ACTOR
    )
    assert outcome.applied, outcome
    return reload(org)


def test_switching_plans_down_and_up_within_a_window_regrants_spent_allotment():
    """A Business trial spends 20,000 of its 25,000 credits, then changes to Team and back to Business (changes
    apply at once during a trial, and the trial is kept). Only 5,000 allotment credits are left to spend; the
    reseed must never re-grant credits spent this window. Today the move to Team records `allotment_granted`
    as Team's 9,000, forgetting that 20,000 were spent, so the move back grants 25,000 - 9,000 = 16,000:
    11,000 credits for nothing, again on every round trip."""
    org = metered_org("business", trial=True)
    assert org.subscription.status == Status.TRIALING
    assert org_pool(org).allotment_balance == 25_000
    assert isinstance(record(org, "tool_calls", 20_000), UsageAnswer)
    org = change_plan(org, "team")
    assert org_pool(org).allotment_balance == 0  # Team's 9,000 are less than what was spent
    org = change_plan(org, "business")
    assert org.subscription.status == Status.TRIALING
    assert org_pool(org).allotment_balance == 25_000 - 20_000


def test_a_per_user_credit_limit_left_from_team_keeps_blocking_on_pro_and_cannot_be_removed():
    """Per-user credit limits need a plan with custom limits (Team, Business). After a move to Pro the limit set
    on Team is still enforced on every call, while cap_remove refuses ("need a plan with custom limits"), for
    the owner and for staff alike: the member is blocked for good. On a plan without the feature the limit
    should either not apply or be removable."""
    org = metered_org("team")
    member = add_member(org)
    cap_set(org=org, meter="credits", limit=10, by=owner(org), member=member)
    Subscription.objects.filter(org=org).update(plan=Plan.objects.get(code="pro"))  # the change's write
    credits_reseed_allotment(org=reload(org), actor=ACTOR, reason="downgrade to Pro")
    org = reload(org)
    assert CreditPool.objects.get(member=member).allotment_balance == 5_000  # the member's own Pro credits
    outcome = record(org, "tool_calls", 11, user=member.user.email)
    if isinstance(outcome, BillingLimitReached):  # still enforced: then the owner must be able to lift it
        cap_remove(org=org, meter="credits", by=owner(org), member=member)
        outcome = record(org, "tool_calls", 11, user=member.user.email)
    assert isinstance(outcome, UsageAnswer), outcome


def test_rollups_keep_agents_and_models_apart_when_their_names_contain_the_separator():
    """Daily rollups are keyed on the dimensions joined with "|". Model "m|a" with no agent and model "m" with
    agent "a|" join to the same key, so the second event's tokens are added to the first one's row: the
    breakdown by model shows 3,000 tokens for "m|a" and none for "m", and the breakdown by agent loses "a|".
    Rollups must equal the raw events by each dimension."""
    org = metered_org()
    record(org, "ai_tokens", 1_000, model="m|a")
    record(org, "ai_tokens", 2_000, model="m", agent="a|")
    by_model = {row.key: row.quantity for row in usage_breakdown(org=reload(org), by="model")}
    by_agent = {row.key: row.quantity for row in usage_breakdown(org=reload(org), by="agent")}
    assert by_model == {"m|a": 1_000, "m": 2_000}
    assert by_agent == {"": 1_000, "a|": 2_000}


def test_the_quota_endpoint_answers_the_limit_the_usage_endpoint_enforces_after_a_catalog_quota_change():
    """Staff raise Team's tool_calls quota in the catalog mid-window ("a quota change applies to every org on
    the plan"). GET /api/v2/quota/tool_calls then answers the new quota (and the portal's bars and state follow
    it), while the usage endpoint keeps enforcing and answering the limits copied into the window's counter:
    the two API answers disagree about the same meter in the same window."""
    org = metered_org("team")  # tool_calls: 100,000 a month
    client = api_client(org)
    first = client.post(EVENTS, {"id": "q1", "meter": "tool_calls", "quantity": 1}, format="json").json()
    assert first["limit"] == 100_000
    PlanQuota.objects.filter(plan__code="team", meter__code="tool_calls").update(monthly_quota=200_000)
    answered = client.post(EVENTS, {"id": "q2", "meter": "tool_calls", "quantity": 1}, format="json").json()
    quota = client.get(reverse("quota", args=["tool_calls"])).json()
    assert (quota["limit"], quota["used"]) == (answered["limit"], answered["used"])


def test_credits_granted_to_a_member_come_back_with_them_when_they_rejoin():
    """On per-member plans "their top-ups stay, should they come back" (cycle._allotment). A member given 500
    credits by staff leaves and is invited back in the same window: their unspent allotment moves to the new
    membership's pool, but the 500 granted credits stay in the old membership's pool, which no balance counts
    and no call spends: the credits are lost to the org."""
    org = metered_org("pro")
    member = add_member(org)
    credits_grant(org=org, credits=500, reason="goodwill", actor=ACTOR, member=member)
    assert credit_balance(org=reload(org), member=member).topups == 500
    membership_remove(membership=member, by=owner(org))
    again = add_member(org, user=member.user)
    assert isinstance(record(org, "tool_calls", 1, user=member.user.email), UsageAnswer)  # opens the new pool
    balance = credit_balance(org=reload(org), member=again)
    assert balance.total == 5_000 + 500 - 1, balance



def test_a_member_who_just_joined_a_per_member_plan_is_shown_their_allotment(client):
    """On Pro every member gets 5,000 credits a cycle, and a member joining mid-window gets theirs in full (their
    first call opens the pool with 5,000). Before that first call GET /api/v2/credits, the Overview and the
    Credits page show the new member a balance of 0, and an org-wide key's balance leaves their 5,000 out:
    the pool is only created by a usage call, and credit_balance sums the pools that exist."""
    org = metered_org("pro")
    member = add_member(org)
    client.force_login(member.user)
    before = client.get(reverse("credits")).json()
    assert isinstance(record(org, "tool_calls", 1, user=member.user.email), UsageAnswer)
    after = client.get(reverse("credits")).json()
    assert after["balance"] == 5_000 - 1  # what the first call found
    assert before["balance"] == 5_000, before
