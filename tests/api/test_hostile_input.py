"""Input schemathesis found answered with a 500: oversized numbers and NUL characters are 400s everywhere."""

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
