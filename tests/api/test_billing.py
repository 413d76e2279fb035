"""GET /api/billing, /api/billing/plans and /api/billing/usage: their shapes in each subscription state."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.services import space_create
from billing_portal.subscriptions.services.changes import subscription_change_plan
from metering.services import session_open
from tests.api.helpers import NOW, key_client, paying_org
from tests.factories import add_member, make_org
from tests.metering.helpers import ACTOR, metered_org, record
from tests.subscriptions.helpers import owner, plan

pytestmark = pytest.mark.django_db
BILLING, PLANS, USAGE = reverse("api-billing"), reverse("api-plans"), reverse("api-usage")


def usd(amount):
    return {"amount": amount, "currency": "USD"}


def test_billing_answers_the_subscription_with_iso_utc_timestamps_and_money_in_minor_units():
    org = paying_org()
    add_member(org)
    body = key_client(org, "billing:read").get(BILLING).json()
    assert body == {
        "plan_tier": "team",
        "plan_name": "Team",
        "status": "active",
        "billing_interval": "month",
        "currency": "USD",
        "current_period_start": "2026-03-10T12:00:00Z",
        "current_period_end": "2026-04-10T12:00:00Z",
        "trial_end": None,
        "cancel_at_period_end": False,
        "scheduled_change": None,
        "seats": 2,
        "recurring_price": {"amount": 4_900 + 2 * 1_200, "currency": "USD"},
        "next_charge": {
            "at": "2026-04-10T12:00:00Z",
            "amount": {"amount": 7_300, "currency": "USD"},
            "description": "Team (monthly)",
        },
        "account_credit": {"amount": 0, "currency": "USD"},
    }


def test_billing_shows_a_trial_and_a_scheduled_downgrade():
    trial = make_org(plan="team", trial=True, clock_at=NOW)
    body = key_client(trial, "billing:read").get(BILLING).json()
    assert (body["status"], body["trial_end"]) == ("trialing", "2026-03-24T12:00:00Z")

    org = paying_org(plan="business")
    subscription_change_plan(org=org, plan=plan("pro"), interval="month", by=owner(org), actor=ACTOR)
    body = key_client(org, "billing:read").get(BILLING).json()
    assert body["scheduled_change"] == {
        "plan_tier": "pro",
        "billing_interval": "month",
        "effective_at": "2026-04-10T12:00:00Z",
    }
    assert body["next_charge"]["amount"] == {"amount": 4_900, "currency": "USD"}


def test_plans_are_public_with_prices_per_interval_quotas_limits_and_features():
    response = APIClient().get(PLANS)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 6 and body["next"] is None
    plans = {plan["tier"]: plan for plan in body["results"]}
    assert list(plans) == ["free", "starter", "pro", "team", "business", "enterprise"]
    team = plans["team"]
    dollars = next(price for price in team["prices"] if price["currency"] == "USD")
    assert dollars == {
        "currency": "USD",
        "month": {"base": usd(4_900), "per_seat": usd(1_200)},
        "year": {"base": usd(46_800), "per_seat": usd(12_000)},
    }
    assert {price["currency"] for price in team["prices"]} == {"USD", "EUR", "JPY"}
    assert team["quotas"] == {"tool_calls": 100_000, "ai_tokens": 50_000_000, "api_requests": 5_000_000}
    assert team["limits"] == {"members": 50, "spaces": 50, "concurrent_sessions": 50, "storage_mb": 204_800}
    assert team["credits"] == {"model": "pooled", "allotment": 8_000, "per_seat": 1_000}
    assert (team["features"], team["grace_pct"], team["trial_days"]) == (["custom_limits"], 20, 14)
    enterprise = plans["enterprise"]
    assert enterprise["contact_sales"] is True and enterprise["prices"] == []
    assert enterprise["quotas"]["ai_tokens"] is None and enterprise["limits"]["members"] is None


def test_plans_ignore_whatever_key_is_sent():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer bp_live_not-a-key")
    assert client.get(PLANS).status_code == 200


def test_usage_answers_meters_and_resource_counts_against_the_plan():
    org = metered_org()
    record(org, "tool_calls", 7)
    add_member(org)
    space_create(org=org, name="Docs")
    session_open(org=org)
    body = key_client(org, "billing:read").get(USAGE).json()
    assert body["tier"] == "team"
    assert body["period"] == {"start": "2026-03-10T12:00:00Z", "end": "2026-04-10T12:00:00Z"}
    assert body["usage"]["tool_calls"] == {"used": 7, "limit": 100_000, "remaining": 99_993, "state": "ok"}
    assert set(body["usage"]) == {"tool_calls", "ai_tokens", "api_requests", "storage"}
    assert body["resource_counts"] == {
        "members": {"used": 2, "limit": 50},
        "spaces": {"used": 1, "limit": 50},
        "concurrent_sessions": {"used": 1, "limit": 50},
    }


def test_a_test_key_sees_the_test_sessions_and_the_live_usage():
    org = metered_org()
    record(org, "tool_calls", 3)
    record(org, "tool_calls", 50, test_mode=True)
    session_open(org=org, test_mode=True)
    session_open(org=org, test_mode=True)
    body = key_client(org, "billing:read", kind="test").get(USAGE).json()
    assert body["usage"]["tool_calls"]["used"] == 3
    assert body["resource_counts"]["concurrent_sessions"] == {"used": 2, "limit": 50}


def test_usage_past_the_quota_shows_the_grace_zone():
    org = metered_org(plan="free")
    record(org, "api_requests", 52_000)
    body = key_client(org, "billing:read").get(USAGE).json()
    assert body["usage"]["api_requests"] == {"used": 52_000, "limit": 50_000, "remaining": 0,
                                             "state": "grace"}


def test_usage_reads_the_entitlements_once_and_stays_flat_as_members_grow(django_assert_max_num_queries):
    org = metered_org()
    client = key_client(org, "billing:read")
    client.get(USAGE)  # opens the window
    for _ in range(30):
        add_member(org)
    with django_assert_max_num_queries(11) as captured:
        assert client.get(USAGE).status_code == 200
    overrides = [query["sql"] for query in captured.captured_queries if "quotaoverride" in query["sql"]]
    assert len(overrides) == 1
