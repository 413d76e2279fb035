"""Stripe mode against the fake Stripe: settings, the signed webhook endpoint and the synced catalog."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe
from django.core.management import call_command
from django.test import Client
from djstripe.models import WebhookEndpoint

from billing_portal.payments.stripe_customers import stripe_customer_ensure
from tests.factories import make_org
from tests.stripe.builders import signature, subscription, webhook_endpoint
from tests.stripe.fake_stripe import FakeStripe

TEST_SECRET_KEY = "sk_test_" + "FakeKeyForTheFakeStripe0000"


@pytest.fixture
def fake_stripe(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    settings.BILLING_PROVIDER = "stripe"
    settings.STRIPE_TEST_SECRET_KEY = TEST_SECRET_KEY
    settings.STRIPE_LIVE_MODE = False
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    # What dj-stripe does with settings.STRIPE_API_HOST at start-up; the adapter follows the same value.
    monkeypatch.setattr(stripe, "api_base", fake.base_url)
    # Some dj-stripe defaults captured the (then empty) key at import; in production the key is set by then.
    monkeypatch.setattr(stripe, "api_key", TEST_SECRET_KEY)
    yield fake
    fake.stop()


@pytest.fixture
def catalog(fake_stripe: FakeStripe) -> Callable[[str], dict[str, Any]]:
    """Sync the plan catalog into the fake; returns a lookup of the Stripe price by its lookup key."""
    call_command("sync_stripe_catalog", stdout=open("/dev/null", "w"))  # noqa: SIM115

    def price(lookup_key: str) -> dict[str, Any]:
        return next(
            obj
            for obj in fake_stripe.objects.values()
            if obj.get("object") == "price" and obj.get("lookup_key") == lookup_key
        )

    return price


@pytest.fixture
def org(db: Any) -> Any:
    return make_org(name="Acme")


@pytest.fixture
def team(
    fake_stripe: FakeStripe, catalog: Callable[[str], dict[str, Any]], org: Any
) -> Callable[..., dict[str, Any]]:
    """Acme's Stripe subscription "sub_acme" to Team monthly; call it to make Stripe hold another state."""
    customer = stripe_customer_ensure(org)
    base, seat = catalog("bp:team:base:month:usd"), catalog("bp:team:seat:month:usd")

    def state(seats: int = 3, **changes: Any) -> dict[str, Any]:
        return fake_stripe.put(
            subscription(
                sub_id="sub_acme",
                customer=customer,
                org_id=org.pk,
                items=[(base, 1), (seat, seats)],
                **changes,
            )
        )

    state()
    return state


@pytest.fixture
def endpoint(db: Any) -> WebhookEndpoint:
    return webhook_endpoint()


Deliver = Callable[..., Any]


@pytest.fixture
def deliver(client: Client, endpoint: WebhookEndpoint) -> Deliver:
    """POST an event to dj-stripe's real endpoint, signed like Stripe signs it (or with `sign` overriding)."""

    def post(event: dict[str, Any], *, sign: Callable[[str], str] = signature) -> Any:
        payload = json.dumps(event)
        return client.post(
            f"/stripe/webhook/{endpoint.djstripe_uuid}/",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=sign(payload),
        )

    return post
