"""API edges: deep nesting, big bodies, replays after names changed, canceled trials, throttle waits, proxies."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, Role, Space
from accounts.services import membership_remove, space_create
from billing_portal.api.throttles import PerKeyRateThrottle
from billing_portal.payments.models import TestCard
from billing_portal.subscriptions.jobs import run_due_jobs
from billing_portal.subscriptions.models import Status, Subscription
from invoices.models import Invoice
from metering.models import UsageCounter, UsageEvent
from tests.api.helpers import key_client
from tests.factories import add_member, make_org
from tests.metering.helpers import START, api_client, metered_org, move_clock, reload

pytestmark = pytest.mark.django_db
EVENTS = reverse("usage-events")
BATCH = reverse("usage-events-batch")


def assert_error_envelope(response, status):
    assert response.status_code == status, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json"), (response["Content-Type"], response.content[:200])
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)


# --- Oversized bodies answer in the error envelope; the largest valid batch is not oversized --------------------


def test_an_oversized_body_is_answered_in_the_error_envelope():
    client = key_client(metered_org(), "usage")
    body = json.dumps({"events": [{"id": "x", "meter": "tool_calls", "quantity": 1, "agent": "a" * 9_000_000}]})
    response = client.generic("POST", BATCH, body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert_error_envelope(response, response.status_code)


def test_a_batch_within_every_documented_limit_is_not_refused_with_an_html_page():
    """1,000 events (the batch's limit), ids of 200 characters and model/agent/integration of 100 (the schema's
    maxLength): json.dumps' default escaping of non-ASCII text makes that ~3 MB, past Django's default
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB). The client gets an HTML page, in neither the answer's nor the error's
    shape."""
    client = key_client(metered_org(), "usage")
    events = [
        {"id": f"{n:04d}" + "é" * 196, "meter": "api_requests", "quantity": 1, "success": False,
         "model": "ü" * 100, "agent": "ñ" * 100, "integration": "ö" * 100}
        for n in range(1_000)
    ]
    body = json.dumps({"events": events})  # ensure_ascii: "é" travels as \u00e9
    assert len(body) > 2.5 * 2**20
    response = client.generic("POST", BATCH, body, content_type="application/json")
    assert response["Content-Type"].startswith("application/json"), response.content[:200]


# --- JSON nested near orjson's 1,024 levels (past Python's recursion limit when made text) is a clean 400 ------

NESTED = "[" * 1_020 + "]" * 1_020  # valid JSON, within orjson's depth limit


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (EVENTS, f'{{"id": {NESTED}, "meter": "tool_calls", "quantity": 1}}'),
        (EVENTS, f'{{"id": "call-1", "meter": "tool_calls", "quantity": 1, "model": {NESTED}}}'),
        (BATCH, f'{{"events": [{{"id": "call-1", "meter": "tool_calls", "quantity": 1, "agent": {NESTED}}}]}}'),
        (reverse("api-cancel"), f'{{"reason": {NESTED}}}'),
        (reverse("api-checkout"), f'{{"tier": {NESTED}, "billing_interval": "month", '
                                  '"success_url": "https://a.example/ok", "cancel_url": "https://a.example/no"}'),
    ],
    ids=["event-id", "event-model", "batch-agent", "cancel-reason", "checkout-tier"],
)
def test_a_deeply_nested_value_is_a_clean_4xx_not_a_500(url, body):
    org = metered_org()
    client = key_client(org)
    client.raise_request_exception = False  # answer as in production
    response = client.generic("POST", url, body, content_type="application/json")
    assert response.status_code != 500, response.content[:100]
    if url == BATCH:
        assert response.json()["results"][0]["status"] == 400
    else:
        assert_error_envelope(response, 400)
    assert not UsageEvent.objects.exists()
    org.subscription.refresh_from_db()
    assert org.subscription.cancel_at_period_end is False


# --- A repeated id gets its first answer, whatever changed since -------------------------------------------------


def test_a_retry_of_a_counted_event_gets_the_first_answer_after_its_member_left():
    org = metered_org()
    member = add_member(org)
    client = api_client(org)
    event = {"id": "call-1", "meter": "tool_calls", "quantity": 3, "user": member.user.email}
    first = client.post(EVENTS, event, format="json")
    assert first.status_code == 201
    owner = Membership.objects.get(org=org, role=Role.OWNER)
    membership_remove(membership=member, by=owner)
    repeat = client.post(EVENTS, event, format="json")  # the client's retry of a call that timed out
    assert UsageEvent.objects.filter(org=org, key="call-1", counted=True).exists()  # it was counted
    assert (repeat.status_code, repeat.json()) == (200, first.json())


def test_a_retry_of_a_counted_event_gets_the_first_answer_after_its_space_became_read_only():
    org = metered_org()
    space = space_create(org=org, name="Research")
    client = api_client(org)
    event = {"id": "call-1", "meter": "tool_calls", "quantity": 3, "space": space.slug}
    first = client.post(EVENTS, event, format="json")
    assert first.status_code == 201
    Space.objects.filter(pk=space.pk).update(read_only=True)  # as a downgrade leaves spaces beyond the limit
    repeat = client.post(EVENTS, event, format="json")
    assert UsageCounter.objects.get(org=org, meter="tool_calls", subject="org").used == 3  # counted once
    assert (repeat.status_code, repeat.json()) == (200, first.json())


def test_a_retry_of_a_counted_event_gets_the_first_answer_after_the_org_was_paused():
    org = metered_org()
    client = api_client(org)
    event = {"id": "call-1", "meter": "tool_calls", "quantity": 3}
    first = client.post(EVENTS, event, format="json")
    assert first.status_code == 201
    Subscription.objects.filter(org=org).update(status=Status.PAUSED)  # what the trial-end job does
    repeat = client.post(EVENTS, event, format="json")
    assert UsageEvent.objects.filter(org=org, key="call-1", counted=True).exists()
    assert (repeat.status_code, repeat.json()) == (200, first.json())


# --- Waiting Retry-After is enough ---------------------------------------------------------------------------------


def test_a_client_that_waits_retry_after_is_let_through(monkeypatch):
    monkeypatch.setattr(PerKeyRateThrottle, "rate", "2/min", raising=False)
    now = [60.0 * 29_000_000 + 1]  # one second into a window
    monkeypatch.setattr(PerKeyRateThrottle, "timer", lambda self: now[0])
    cache.clear()
    client = key_client(metered_org(), "usage")
    assert [client.get(reverse("credits")).status_code for _ in range(2)] == [200, 200]
    now[0] += 1
    throttled = client.get(reverse("credits"))
    assert throttled.status_code == 429
    now[0] += int(throttled["Retry-After"])
    retried = client.get(reverse("credits"))
    assert retried.status_code == 200, (throttled["Retry-After"], retried.json(), retried.get("Retry-After"))


# --- The anonymous budget (/api/billing/plans) is not renewed by a client's own X-Forwarded-For -----------------


def test_the_anonymous_budget_cannot_be_renewed_by_sending_another_forwarded_for(monkeypatch):
    monkeypatch.setattr(PerKeyRateThrottle, "rate", "2/min", raising=False)
    cache.clear()
    anonymous = APIClient()
    plans = reverse("api-plans")
    assert [anonymous.get(plans).status_code for _ in range(2)] == [200, 200]
    assert anonymous.get(plans).status_code == 429
    spoofed = [anonymous.get(plans, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(5)]
    assert spoofed == [429] * 5  # same address (REMOTE_ADDR), same budget


# --- A trial canceled through the API announces no charge after the trial ---------------------------------------


def test_a_cancelled_trial_announces_no_charge_after_the_trial():
    org = make_org(plan="business", trial=True, clock_at=START, card=TestCard.SUCCEEDS)
    client = key_client(org, "billing:read", "billing:write")
    assert client.post(reverse("api-cancel"), {}, format="json").status_code == 200
    billing = client.get(reverse("api-billing")).json()
    assert billing["cancel_at_period_end"] is True
    # What actually happens at the trial's end: the org moves to Free and nothing is charged.
    move_clock(org, START + timedelta(days=15))
    run_due_jobs(org=reload(org))
    org = reload(org)
    assert org.subscription.plan.code == "free"
    assert not Invoice.objects.filter(org=org).exclude(total=0).exists()
    # ... yet the API announced "Business after the trial", $149, for that moment.
    assert billing["next_charge"] is None, billing["next_charge"]
