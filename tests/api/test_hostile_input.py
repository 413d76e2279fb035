"""Input once answered with a 500 (most found by schemathesis): oversized numbers, NUL characters and unpaired
surrogate escapes are 400s everywhere."""

import pytest
from django.urls import reverse

from metering.models import UsageEvent
from metering.services.usage import MAX_QUANTITY
from tests.api.helpers import key_client
from tests.metering.helpers import metered_org

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"quantity": MAX_QUANTITY + 1}, "quantity"),
        ({"quantity": 32513132001382438535168}, "quantity"),
        ({"meter": "tool\x00calls"}, "meter"),
        ({"id": "call\x00"}, "id"),
        ({"model": "gpt\x00"}, "model"),
    ],
)
def test_usage_events_refuse_them_alone_and_in_a_batch(event, field):
    client = key_client(metered_org(), "usage")
    event = {"id": "call-1", "meter": "tool_calls", "quantity": 1, **event}
    alone = client.post(reverse("usage-events"), event, format="json")
    assert alone.status_code == 400 and field in alone.json()["error"]["fields"]
    [answer] = client.post(reverse("usage-events-batch"), {"events": [event]}, format="json").json()["results"]
    assert answer["status"] == 400 and field in answer["error"]["fields"]
    assert not UsageEvent.objects.exists()


def test_the_largest_quantity_is_stored():
    event = {"id": "big", "meter": "api_requests", "quantity": MAX_QUANTITY, "success": False}  # not counted
    response = key_client(metered_org(), "usage").post(reverse("usage-events"), event, format="json")
    assert response.status_code == 201
    assert UsageEvent.objects.get(key="big").quantity == MAX_QUANTITY


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("api-checkout", {"tier": "te\x00am", "billing_interval": "month"}, "tier"),
        ("api-cancel", {"reason": "\x00"}, "reason"),
    ],
)
def test_billing_writes_refuse_nul_characters(url, body, field):
    urls = {"success_url": "https://a.example/ok", "cancel_url": "https://a.example/no"}
    response = key_client(metered_org(), "billing:write").post(reverse(url), {**urls, **body}, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


UNPAIRED_SURROGATE = "\\ud800"  # valid JSON syntax, but no Unicode text: no UTF-8 database can store it


@pytest.mark.parametrize("field", ["id", "user", "agent"])
@pytest.mark.parametrize(("url", "body"), [("usage-events", "{%s}"), ("usage-events-batch", '{"events": [{%s}]}')])
def test_unpaired_surrogate_escapes_are_malformed_requests(url, body, field):
    event = f'"id": "call-1", "meter": "tool_calls", "quantity": 1, "{field}": "a{UNPAIRED_SURROGATE}b"'
    response = key_client(metered_org(), "usage").generic(
        "POST", reverse(url), body % event, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"
    assert not UsageEvent.objects.exists()


def test_a_surrogate_pair_escape_is_the_character_it_encodes():
    event = '{"id": "call-1", "meter": "tool_calls", "quantity": 1, "agent": "\\ud83d\\ude00"}'
    response = key_client(metered_org(), "usage").generic(
        "POST", reverse("usage-events"), event, content_type="application/json"
    )
    assert response.status_code == 201
    assert UsageEvent.objects.get(key="call-1").agent == "\N{GRINNING FACE}"


def test_billing_writes_refuse_unpaired_surrogate_escapes():
    org = metered_org()
    body = f'{{"reason": "too {UNPAIRED_SURROGATE} expensive"}}'
    response = key_client(org, "billing:write").generic(
        "POST", reverse("api-cancel"), body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"
    org.subscription.refresh_from_db()
    assert org.subscription.cancel_at_period_end is False
