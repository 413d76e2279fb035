import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.services import space_create
from billing_portal.catalog.models import Meter, Plan, QuotaOverride
from billing_portal.core.errors import BillingLimitReached, NotAllowed
from billing_portal.subscriptions.models import Subscription
from metering.models import UsageEvent
from metering.services import UsageAnswer, cap_remove, cap_set, credits_reseed_allotment
from tests.factories import add_member
from tests.metering.helpers import ACTOR, api_client, metered_org, record, reload

pytestmark = pytest.mark.django_db


def owner(org):
    return Membership.objects.get(org=org, role=Role.OWNER)


def test_quota_then_grace_then_blocked_at_the_exact_counts():
    org = metered_org("free")  # api_requests: quota 50,000 and 10% grace: hard limit 55,000
    assert record(org, "api_requests", 50_000).state == "ok"
    grace = record(org, "api_requests", 1)
    assert (grace.state, grace.used, grace.limit) == ("grace", 50_001, 50_000)
    assert record(org, "api_requests", 4_999).used == 55_000
    blocked = record(org, "api_requests", 1)
    assert isinstance(blocked, BillingLimitReached)
    assert blocked.code == "billing_limit_reached"
    assert UsageEvent.objects.filter(org=org).count() == 3  # the blocked call left nothing behind


def test_blocked_call_is_a_403_with_the_error_shape():
    org = metered_org("free")
    client = api_client(org)
    client.post(
        reverse("usage-events"), {"id": "1", "meter": "api_requests", "quantity": 55_000}, format="json"
    )
    response = client.post(
        reverse("usage-events"), {"id": "2", "meter": "api_requests", "quantity": 1}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "billing_limit_reached"
    assert "quota" in response.json()["error"]["message"]
    quota = client.get(reverse("quota", args=["api_requests"])).json()
    assert (quota["limit"], quota["used"], quota["remaining"]) == (50_000, 55_000, 0)


def test_an_upgrade_lifts_the_limit_immediately():
    org = metered_org("free")
    record(org, "api_requests", 55_000)
    assert isinstance(record(org, "api_requests", 1), BillingLimitReached)
    Subscription.objects.filter(org=org).update(
        plan=Plan.objects.get(code="pro")
    )  # the upgrade service's write
    credits_reseed_allotment(org=reload(org), actor=ACTOR, reason="upgrade to Pro")
    assert isinstance(record(org, "api_requests", 1), UsageAnswer)


def test_member_cap_blocks_only_that_member():
    org = metered_org()
    capped, other = add_member(org), add_member(org)
    cap_set(org=org, meter="api_requests", limit=10, by=owner(org), member=capped)
    assert record(org, "api_requests", 10, user=capped.user.email).state == "ok"
    refused = record(org, "api_requests", 1, user=capped.user.email)
    assert isinstance(refused, BillingLimitReached) and "member" in refused.message
    assert isinstance(record(org, "api_requests", 50, user=other.user.email), UsageAnswer)
    assert isinstance(record(org, "api_requests", 50), UsageAnswer)


def test_space_cap_blocks_only_that_space_and_counts_usage_from_before_it_was_set():
    org = metered_org()
    lab, prod = space_create(org=org, name="Lab"), space_create(org=org, name="Prod")
    record(org, "tool_calls", 8, space="lab")
    cap_set(org=org, meter="tool_calls", limit=10, by=owner(org), space=lab)
    assert isinstance(record(org, "tool_calls", 2, space="lab"), UsageAnswer)
    refused = record(org, "tool_calls", 1, space="lab")
    assert isinstance(refused, BillingLimitReached) and "space" in refused.message
    assert isinstance(record(org, "tool_calls", 5, space=prod.slug), UsageAnswer)
    cap_remove(org=org, meter="tool_calls", by=owner(org), space=lab)
    assert isinstance(record(org, "tool_calls", 1, space="lab"), UsageAnswer)


def test_caps_are_set_by_owners_and_admins_only():
    org = metered_org()
    admin, member = add_member(org, role=Role.ADMIN), add_member(org)
    cap_set(org=org, meter="tool_calls", limit=5, by=admin, member=member)
    with pytest.raises(NotAllowed):
        cap_set(org=org, meter="tool_calls", limit=5, by=member, member=admin)


def test_per_user_credit_limit_needs_custom_limits_and_the_owner():
    team = metered_org("team")
    member = add_member(team)
    admin = add_member(team, role=Role.ADMIN)
    with pytest.raises(NotAllowed):
        cap_set(org=team, meter="credits", limit=4, by=admin, member=member)
    cap_set(org=team, meter="credits", limit=4, by=owner(team), member=member)
    assert isinstance(record(team, "tool_calls", 4, user=member.user.email), UsageAnswer)
    refused = record(team, "tool_calls", 1, user=member.user.email)
    assert isinstance(refused, BillingLimitReached) and "credit limit" in refused.message
    pro = metered_org("pro", name="Pro org")
    with pytest.raises(NotAllowed) as error:
        cap_set(org=pro, meter="credits", limit=4, by=owner(pro), member=owner(pro))
    assert error.value.code == "feature_not_available"


def test_quota_endpoints_answer_exactly_the_documented_shape():
    org = metered_org("team")
    client = api_client(org)
    record(org, "ai_tokens", 1_234)
    tokens = client.get(reverse("quota-tokens")).json()
    assert tokens == {
        "limit": 50_000_000,
        "used": 1_234,
        "remaining": 50_000_000 - 1_234,
        "window_start": "2026-03-10T12:00:00+00:00",
        "window_end": "2026-04-10T12:00:00+00:00",
    }
    QuotaOverride.objects.create(
        org=org, meter=Meter.objects.get(code="tool_calls"), monthly_quota=None
    )  # staff deal, applied to the open window as Assign Enterprise does
    credits_reseed_allotment(org=org, actor=ACTOR, reason="staff deal")
    assert client.get(reverse("quota", args=["tool_calls"])).json()["limit"] is None
    assert client.get(reverse("quota", args=["nope"])).status_code == 404
