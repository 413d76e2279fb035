from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import space_create
from billing_portal.subscriptions.models import Status, Subscription
from metering.models import CreditEntry, CreditPool, UsageCounter, UsageEvent, UsageRollup
from tests.factories import add_member
from tests.metering.helpers import START, api_client, metered_org

pytestmark = pytest.mark.django_db
EVENTS = reverse("usage-events")
BATCH = reverse("usage-events-batch")


def used(org, meter="tool_calls"):
    return UsageCounter.objects.get(org=org, meter=meter, subject="org").used


def balance(org):
    pool = CreditPool.objects.get(org=org, member__isnull=True)
    return pool.allotment_balance + pool.topup_balance


def test_first_call_is_201_and_a_repeat_is_200_with_the_original_answer():
    org = metered_org()
    client = api_client(org)
    first = client.post(EVENTS, {"id": "call-1", "meter": "tool_calls", "quantity": 2}, format="json")
    assert first.status_code == 201
    assert first.json() == {
        "id": "call-1",
        "counted": True,
        "meter": "tool_calls",
        "used": 2,
        "limit": 100_000,
        "remaining": 99_998,
        "state": "ok",
    }
    client.post(EVENTS, {"id": "call-2", "meter": "tool_calls", "quantity": 5}, format="json")
    repeat = client.post(EVENTS, {"id": "call-1", "meter": "tool_calls", "quantity": 2}, format="json")
    assert repeat.status_code == 200
    assert repeat.json() == first.json()
    assert used(org) == 7
    assert UsageEvent.objects.filter(org=org).count() == 2


def test_bad_input_is_a_400_naming_the_fields_and_records_nothing():
    org = metered_org()
    response = api_client(org).post(
        EVENTS, {"id": "x", "meter": "tool_calls", "quantity": "3", "success": "yes"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"quantity", "success"}
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"meter": "nope", "quantity": 1}, "meter"),
        ({"meter": "tool_calls", "quantity": 0}, "quantity"),
        ({"meter": "tool_calls", "quantity": 1, "user": "stranger@example.com"}, "user"),
        ({"meter": "tool_calls", "quantity": 1, "space": "nowhere"}, "space"),
        (
            {"meter": "tool_calls", "quantity": 1, "timestamp": (START + timedelta(hours=1)).isoformat()},
            "timestamp",
        ),
        (
            {"meter": "tool_calls", "quantity": 1, "timestamp": (START - timedelta(days=36)).isoformat()},
            "timestamp",
        ),
        ({"meter": "tool_calls", "quantity": 1, "timestamp": "yesterday"}, "timestamp"),
    ],
)
def test_values_the_org_does_not_know_are_400s(body, field):
    org = metered_org()
    response = api_client(org).post(EVENTS, {"id": "e", **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not UsageEvent.objects.exists()


@pytest.mark.parametrize(
    "payload", [[], "text", None, {"events": "x"}, {"id": ["a"], "meter": {}, "quantity": 1e3}]
)
def test_any_json_shape_gets_a_clean_4xx(payload):
    org = metered_org()
    client = api_client(org)
    for url in (EVENTS, BATCH):
        response = client.post(url, payload, format="json")
        assert response.status_code == 400
        assert "code" in response.json()["error"]


def test_backdated_event_within_35_days_is_accepted():
    org = metered_org()
    response = api_client(org).post(
        EVENTS,
        {
            "id": "old",
            "meter": "tool_calls",
            "quantity": 1,
            "timestamp": (START - timedelta(days=34)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201
    assert UsageEvent.objects.get(key="old").occurred_at == START - timedelta(days=34)


def test_failed_calls_are_stored_but_not_counted_nor_charged():
    org = metered_org()
    before = balance(org)
    response = api_client(org).post(
        EVENTS, {"id": "f", "meter": "ai_tokens", "quantity": 5_000, "success": False}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["counted"] is False
    assert used(org, "ai_tokens") == 0
    assert balance(org) == before
    event = UsageEvent.objects.get(key="f")
    assert not event.counted and not event.success
    assert UsageRollup.objects.get(org=org).failed_events == 1


def test_test_keys_are_free_but_logged():
    org = metered_org()
    before = balance(org)
    response = api_client(org, kind="test").post(
        EVENTS, {"id": "t", "meter": "ai_tokens", "quantity": 9_000}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["counted"] is False
    assert used(org, "ai_tokens") == 0
    assert balance(org) == before
    assert UsageEvent.objects.get(key="t").test_mode
    assert not UsageRollup.objects.exists()


def test_byok_model_calls_count_against_the_quota_but_cost_no_credits():
    org = metered_org()
    before = balance(org)
    client = api_client(org)
    client.post(
        EVENTS,
        {"id": "b", "meter": "ai_tokens", "quantity": 4_000, "model": "gpt-4o", "byok": True},
        format="json",
    )
    assert used(org, "ai_tokens") == 4_000
    assert balance(org) == before
    client.post(
        EVENTS, {"id": "p", "meter": "ai_tokens", "quantity": 4_000, "model": "gpt-4o"}, format="json"
    )
    assert balance(org) == before - 20  # 5 credits per 1,000 tokens
    debit = CreditEntry.objects.get(kind="debit")
    assert (debit.line_item, debit.line_key, debit.usage_event.key) == ("llm", "gpt-4o", "p")


def test_storage_reported_in_mb_days_costs_credits_at_the_storage_rate_and_has_no_plan_quota():
    org = metered_org()
    before = balance(org)
    client = api_client(org)
    answer = client.post(EVENTS, {"id": "s1", "meter": "storage", "quantity": 250}, format="json")
    assert answer.status_code == 201, answer.content
    assert (answer.json()["used"], answer.json()["limit"], answer.json()["state"]) == (250, None, "ok")
    assert balance(org) == before - 3  # 1 credit per 100 MB-days, rounded up per report
    debit = CreditEntry.objects.get(kind="debit")
    assert (debit.line_item, debit.line_key, debit.usage_event.key) == ("storage", "*", "s1")
    assert client.get(reverse("quota", args=["storage"])).json()["limit"] is None


def test_paused_or_canceled_orgs_get_402_and_nothing_is_recorded():
    org = metered_org()
    Subscription.objects.filter(org=org).update(status=Status.PAUSED)  # what the trial-end job does
    client = api_client(org)
    response = client.post(EVENTS, {"id": "p", "meter": "tool_calls", "quantity": 1}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "payment_required"
    assert client.post(reverse("sessions")).status_code == 402
    assert not UsageEvent.objects.exists()


def test_keys_without_the_usage_scope_are_refused():
    org = metered_org()
    response = api_client(org, scopes=("billing:read",)).post(
        EVENTS, {"id": "s", "meter": "tool_calls", "quantity": 1}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_signed_in_members_record_as_themselves_in_their_current_org(client):
    org = metered_org()
    member = add_member(org, role=Role.VIEWER)
    client.force_login(member.user)
    response = client.post(
        EVENTS, {"id": "s", "meter": "tool_calls", "quantity": 1}, content_type="application/json"
    )
    assert response.status_code == 201
    assert UsageEvent.objects.get(key="s").member == member


def test_batch_answers_every_event_in_order_with_the_same_rules():
    org = metered_org("free")  # api_requests: quota 50,000, grace 10% -> blocked above 55,000
    space_create(org=org, name="Lab")
    client = api_client(org)
    events = [
        {"id": "a", "meter": "api_requests", "quantity": 50_000, "space": "lab"},
        {"id": "b", "meter": "api_requests", "quantity": 2_500},
        {"id": "a", "meter": "api_requests", "quantity": 50_000},
        {"id": "c", "meter": "api_requests", "quantity": 5_000},
        {"id": "d", "meter": "nope", "quantity": 1},
        {"id": "e", "meter": "api_requests", "quantity": "x"},
        {"id": "f", "meter": "api_requests", "quantity": 50, "success": False},
    ]
    response = client.post(BATCH, {"events": events}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 200, 403, 400, 400, 201]
    assert [r.get("state") for r in results] == ["ok", "grace", "ok", None, None, None, "grace"]
    assert results[3]["error"]["code"] == "billing_limit_reached"
    assert results[4]["error"]["fields"] == {"meter": ["Unknown meter."]}
    assert used(org, "api_requests") == 52_500
    assert set(UsageEvent.objects.values_list("key", flat=True)) == {"a", "b", "f"}
    again = client.post(BATCH, {"events": events[:2]}, format="json").json()["results"]
    assert [r["status"] for r in again] == [200, 200]
    assert used(org, "api_requests") == 52_500


def test_batch_takes_at_most_1000_events():
    org = metered_org()
    events = [{"id": str(n), "meter": "api_requests", "quantity": 1} for n in range(1_001)]
    response = api_client(org).post(BATCH, {"events": events}, format="json")
    assert response.status_code == 400
    assert used(org, "api_requests") == 0
    response = api_client(org).post(BATCH, {"events": events[:1_000]}, format="json")
    assert [r["status"] for r in response.json()["results"]] == [201] * 1_000
    assert used(org, "api_requests") == 1_000
