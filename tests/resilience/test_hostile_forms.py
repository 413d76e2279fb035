"""Every POST form of the portal, fed malformed values one field at a time (negative, huge, non-numeric,
unicode, NUL, markup, oversize): accepted, or refused with the reason shown (a 4xx, the form's errors, or a
redirect with an error message), never a 500; and nothing half-written: when a post is refused, no row of the
money and audit tables changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as accounts
from accounts.models import Membership, Role
from billing_portal.api.keys import api_key_create
from billing_portal.payments.models import TestCard
from metering.models import UsageEvent
from tests.api.helpers import key_client
from tests.factories import TEST_ACTOR, add_member, issue_invoice, make_org
from tests.hostile import NASTY, hostile_posts, ledger_counts
from tests.metering.helpers import metered_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal() -> dict[str, Any]:
    """A Team org with a member, a pending invitation, a space, an API key and an open invoice."""
    org = make_org(name="Acme", plan="team")
    owner = Membership.objects.get(org=org, role=Role.OWNER)
    member = add_member(org)
    invitation, token = accounts.invitation_create(org=org, email="invited@example.com", role=Role.MEMBER, by=owner)
    accounts.space_create(org=org, name="Research", by=owner)
    key, _ = api_key_create(org=org, name="ci", kind="live", scopes=["usage"], actor=TEST_ACTOR,
                            may_grant_billing_write=False)  # fmt: skip
    invoice = issue_invoice(org)
    return {"org": org, "owner": owner, "member": member, "invitation": invitation, "token": token, "key": key,
            "invoice": invoice}  # fmt: skip


# (url, the valid fields, the fields fuzzed, signed in as the owner)
Form = tuple[Callable[[dict[str, Any]], str], dict[str, str], list[str], bool]
FORMS: dict[str, Form] = {
    "sign-up": (lambda p: reverse("portal:sign-up"), {
        "full_name": "Ada", "email": "ada@example.com", "password": "a-long-pass-phrase-1", "org_name": "Ada Co",
        "timezone": "UTC", "currency": "USD"}, ["full_name", "email", "password", "org_name", "timezone", "currency"],
        False),
    "login": (lambda p: reverse("login"), {"username": "nobody@example.com", "password": "wrong-password"},
              ["username", "password"], False),
    "top-up": (lambda p: reverse("portal:buy-topup"),
               {"pack": "credits-1k", "request_key": "9a1f6c64-54a4-4a1e-9d6a-0a4cf3c1b2de"}, ["pack", "request_key"],
               True),
    "credit alert": (lambda p: reverse("portal:credit-alert"), {"threshold_pct": "20"}, ["threshold_pct"], True),
    "plan change": (lambda p: reverse("portal:plan-change"), {"plan": "business", "interval": "month"},
                    ["plan", "interval", "quote"], True),
    "cancel": (lambda p: reverse("portal:cancel"), {"reason": "Too expensive"}, ["reason"], True),
    "undo change": (lambda p: reverse("portal:undo-change"), {"next": "/billing/plans/"}, ["next"], True),
    "billing details": (lambda p: reverse("portal:payment"), {
        "billing_email": "billing@acme.test", "tax_id": "DE123", "billing_address": "1 Main St", "country": "DE"},
        ["billing_email", "tax_id", "billing_address", "country"], True),
    "payment method": (lambda p: reverse("portal:payment-method"), {"card": TestCard.SUCCEEDS}, ["card"], True),
    "pay invoice": (lambda p: reverse("portal:invoice-pay", args=[p["invoice"].pk]), {}, ["card"], True),
    "invite": (lambda p: reverse("portal:invite"), {"email": "new@example.com", "role": Role.MEMBER},
               ["email", "role"], True),
    "member role": (lambda p: reverse("portal:member-role", args=[p["member"].pk]), {"role": Role.ADMIN}, ["role"],
                    True),
    "member billing read": (lambda p: reverse("portal:member-billing-read", args=[p["member"].pk]),
                            {"allowed": "1"}, ["allowed"], True),
    "member remove": (lambda p: reverse("portal:member-remove", args=[p["member"].pk]), {}, ["reason"], True),
    "ownership transfer": (lambda p: reverse("portal:member-transfer", args=[p["member"].pk]), {}, ["to"], True),
    "invitation revoke": (lambda p: reverse("portal:invitation-revoke", args=[p["invitation"].pk]), {}, ["why"],
                          True),
    "cap": (lambda p: reverse("portal:cap-set"), {
        "member_email": "", "space": "research", "meter": "tool_calls", "limit": "100"},
        ["member_email", "space", "meter", "limit"], True),
    "api key": (lambda p: reverse("portal:api-keys"), {"name": "backend", "kind": "live", "scopes": "usage"},
                ["name", "kind", "scopes"], True),
    "api key revoke": (lambda p: reverse("portal:api-key-revoke", args=[p["key"].pk]), {}, ["why"], True),
    "switch org": (lambda p: reverse("portal:switch-org"), {"next": "/billing/"},
                   ["org", "next"], True),
    "accept invitation": (lambda p: reverse("portal:accept-invitation", args=[p["token"]]), {}, ["token"], True),
}  # fmt: skip


@pytest.mark.parametrize("name", FORMS)
def test_malformed_values_get_a_clear_refusal_never_a_500_and_write_nothing(name, portal, client: Client):
    url, valid, fuzzed, signed_in = FORMS[name]
    if signed_in:
        client.force_login(portal["owner"].user)
    problems = hostile_posts(client, url(portal), valid, fuzzed)
    assert not problems, problems


@pytest.mark.parametrize("page", ["portal:credits", "portal:usage", "portal:invoices", "portal:activity"])
def test_any_page_number_shows_a_page(page, portal, client: Client):
    client.force_login(portal["owner"].user)
    statuses = {value[:20]: client.get(reverse(page), {"page": value}).status_code for value in NASTY}
    assert set(statuses.values()) == {200}, statuses


@pytest.mark.parametrize("path", ["/billing/invoices/99999999999999999999999/pay/",
                                  "/billing/members/-1/role/", "/billing/api-keys/0/revoke/",
                                  "/billing/invitations/9223372036854775808/revoke/"])  # fmt: skip
def test_ids_out_of_range_in_urls_are_404s(path, portal, client: Client):
    client.force_login(portal["owner"].user)
    assert client.post(path, {"role": Role.ADMIN}).status_code == 404


def test_an_oversize_form_is_a_400_not_a_500(portal, client: Client):
    client.force_login(portal["owner"].user)
    before = ledger_counts()
    response = client.post(reverse("portal:cancel"), {"reason": "x" * 9_000_000})  # above the 8 MB limit
    assert response.status_code == 400
    assert ledger_counts() == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", " ", "abc"])
@pytest.mark.parametrize("form", ["portal:switch-org", "portal:undo-change"])
def test_a_next_field_never_sends_anyone_off_site(form, target, portal, client: Client):
    client.force_login(portal["owner"].user)
    response = client.post(reverse(form), {"next": target})
    assert response.status_code == 302 and response["Location"].startswith("/billing/"), response["Location"]


@pytest.mark.parametrize("path", ["/api/v2/usage/events", "/api/v2/usage/events/batch"])
@pytest.mark.parametrize("shape", ["many events", "one huge field"])
def test_a_10_mb_body_on_the_usage_api_is_a_4xx_and_records_nothing(path, shape):
    client = key_client(metered_org(), "usage")
    events = [{"id": f"e{n}", "meter": "tool_calls", "quantity": 1} for n in range(180_000)]
    body = {"events": events} if shape == "many events" else {**events[0], "model": "m" * 10_000_000}
    payload = json.dumps(body)
    assert len(payload) >= 10_000_000
    response = client.generic("POST", path, payload, content_type="application/json")
    assert response.status_code in (400, 413)
    assert not UsageEvent.objects.exists()
