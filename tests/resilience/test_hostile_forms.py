"""Every POST form of the portal, fed malformed values one field at a time (negative, huge, non-numeric,
unicode, NUL, markup, oversize): accepted, or refused with the reason shown (a 4xx, the form's errors, or a
redirect with an error message), never a 500; and nothing half-written: when a post is refused, no row of the
money and audit tables changed.

Each post runs in a savepoint rolled back afterwards, so every value meets the same starting state."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts import services as accounts
from accounts.models import Invitation, Membership, Role
from billing_portal.api.keys import api_key_create
from billing_portal.api.models import ApiKey
from billing_portal.audit.models import AuditEntry
from billing_portal.payments.models import Charge, PaymentMethod, TestCard
from invoices.models import Invoice, InvoiceEvent, InvoiceLine
from metering.models import CreditEntry, CreditPool, TopupPurchase, UsageCap, UsageEvent
from tests.api.helpers import key_client
from tests.factories import TEST_ACTOR, add_member, issue_invoice, make_org
from tests.metering.helpers import metered_org

pytestmark = pytest.mark.django_db

NASTY = [
    "", " ", "-1", "-99999999999999999999", "0", "1.5", "1e309", "NaN", "Infinity", "9" * 30, "9" * 5_000,
    "abc", "\x00", "null\x00byte", "😀" * 60, "ä" * 300, "\u202etxt.exe", "<script>alert(1)</script>",
    "' OR 1=1 --", "../../etc/passwd", "%00", "https://evil.example/", "A" * 100_000,
    "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com",  # a valid email of 310 characters: longer than a column
]  # fmt: skip
# What a refused post must leave untouched.
LEDGERS = [Invoice, InvoiceLine, InvoiceEvent, Charge, PaymentMethod, CreditEntry, CreditPool, TopupPurchase,
           AuditEntry, ApiKey, Membership, Invitation, UsageCap]  # fmt: skip


class Rollback(Exception):
    pass


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


def _counts() -> list[int]:
    return [model.objects.count() for model in LEDGERS]


def _refused(response: Any) -> bool:
    """Whether the post was turned down with the reason shown: a 4xx, an error message, or the form's errors."""
    if response.status_code >= 400:
        return True
    levels = {message.level_tag for message in get_messages(response.wsgi_request)}
    return "error" in levels or (response.status_code == 200 and b"errorlist" in response.content)


@pytest.mark.parametrize("name", FORMS)
def test_malformed_values_get_a_clear_refusal_never_a_500_and_write_nothing(name, portal, client: Client):
    url, valid, fuzzed, signed_in = FORMS[name]
    client.raise_request_exception = False  # a crash is a 500 answer, reported with the rest
    if signed_in:
        client.force_login(portal["owner"].user)
    problems = []
    for field in fuzzed:
        for value in NASTY:
            before = _counts()
            client.cookies.pop("messages", None)  # only this post's messages count
            try:
                with transaction.atomic():
                    response = client.post(url(portal), {**valid, field: value})
                    refused, changed = _refused(response), _counts() != before
                    raise Rollback
            except Rollback:
                pass
            if response.status_code >= 500:
                problems.append(f"{field}={value[:40]!r}: {response.status_code}")
            elif refused and changed:
                problems.append(f"{field}={value[:40]!r}: refused ({response.status_code}) but rows changed")
    assert not problems, problems


@pytest.mark.parametrize("path", ["/billing/invoices/99999999999999999999999/pay/",
                                  "/billing/members/-1/role/", "/billing/api-keys/0/revoke/",
                                  "/billing/invitations/9223372036854775808/revoke/"])  # fmt: skip
def test_ids_out_of_range_in_urls_are_404s(path, portal, client: Client):
    client.force_login(portal["owner"].user)
    assert client.post(path, {"role": Role.ADMIN}).status_code == 404


def test_an_oversize_form_is_a_400_not_a_500(portal, client: Client):
    client.force_login(portal["owner"].user)
    before = _counts()
    response = client.post(reverse("portal:cancel"), {"reason": "x" * 3_000_000})  # above Django's 2.5 MB
    assert response.status_code == 400
    assert _counts() == before


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
