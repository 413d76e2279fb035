"""Every portal URL and API endpoint, as every kind of visitor: the status each one must get.

Roles: anonymous, VIEWER, MEMBER, ADMIN, a MEMBER with billing:read, the OWNER, the OWNER of another org (who
reaches this org's objects only by their ids in URLs), and a staff user who is in no org. Each request runs in a
savepoint that is rolled back, so what one successful write changes never colours the next check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts import services as accounts
from accounts.models import Membership, Role
from billing_portal.api.keys import api_key_create
from billing_portal.audit.services import Actor
from billing_portal.core import clock
from billing_portal.core.money import Money
from billing_portal.subscriptions.periods import Period
from invoices.models import Invoice, LineKind
from invoices.services import LineSpec, invoice_issue
from tests.factories import UserFactory, add_member, make_org
from tests.subscriptions.helpers import owner

ROLES = ["anonymous", "viewer", "member", "admin", "billing_read", "owner", "other_owner", "staff"]
LOGIN, FORBIDDEN, NOT_FOUND, UNAUTHENTICATED = 302, 403, 404, 401


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable[[dict], str]
    expect: dict[str, int]
    data: dict | None = None
    json: bool = False


def billing_page(name: str, *, managers_only: bool = False, owner_only: bool = False) -> Endpoint:
    """A billing page: signed-out visitors go to sign-in, roles without billing get 403, staff outside any org
    go to the "no organization" page, and the other org's owner sees their own org's page."""
    seen = {"admin": 200, "billing_read": 200, "owner": 200, "other_owner": 200}
    if managers_only:
        seen["billing_read"] = FORBIDDEN
    if owner_only:
        seen["admin"] = seen["billing_read"] = FORBIDDEN
    return Endpoint(name, "GET", lambda w: reverse(f"portal:{name}"),
                    {"anonymous": LOGIN, "viewer": FORBIDDEN, "member": FORBIDDEN, "staff": LOGIN, **seen})


def write(name: str, url: Callable[[dict], str], *, who: str, data: dict | None = None, ok: int = 302,
          on_this_org: bool = False) -> Endpoint:
    """A portal POST that `who` ("owner" or "managers") may make. On an object of this org (`on_this_org`), the
    other org's owner gets 404; otherwise they act on their own org."""
    allowed = {"owner"} if who == "owner" else {"owner", "admin"}
    expect = {role: (ok if role in allowed else FORBIDDEN) for role in ROLES}
    expect.update(anonymous=LOGIN, staff=LOGIN, other_owner=NOT_FOUND if on_this_org else ok)
    return Endpoint(name, "POST", url, expect, data=data or {})


def api(name: str, method: str, url: Callable[[dict], str], *, scope: str, data: dict | None = None,
        ok: int = 200, on_this_org: bool = False) -> Endpoint:
    """An API endpoint called with the browser session: roles map to scopes as API keys would carry them."""
    allowed = {"usage": {"viewer", "member", "admin", "billing_read", "owner"},
               "billing:read": {"admin", "billing_read", "owner"},
               "billing:write": {"owner"}}[scope]
    expect = {role: (ok if role in allowed else FORBIDDEN) for role in ROLES}
    expect.update(anonymous=UNAUTHENTICATED, staff=FORBIDDEN,
                  other_owner=NOT_FOUND if on_this_org else ok)
    return Endpoint(name, method, url, expect, data=data, json=True)


ENDPOINTS = [
    Endpoint("home", "GET", lambda w: reverse("portal:home"),
             {"anonymous": LOGIN, "viewer": 200, "member": 200, "admin": LOGIN, "billing_read": LOGIN,
              "owner": LOGIN, "other_owner": LOGIN, "staff": LOGIN}),
    *[billing_page(name) for name in ("overview", "usage", "credits", "invoices", "payment", "plans", "members")],
    billing_page("api-keys", managers_only=True),
    billing_page("activity", owner_only=True),
    Endpoint("plan preview", "GET", lambda w: reverse("portal:plan-change") + "?plan=business&interval=month",
             {"anonymous": LOGIN, "viewer": FORBIDDEN, "member": FORBIDDEN, "admin": 200, "billing_read": 200,
              "owner": 200, "other_owner": 200, "staff": LOGIN}),
    Endpoint("invoice PDF", "GET", lambda w: reverse("invoices:pdf", args=[w["invoice"].pk]),
             {"anonymous": LOGIN, "viewer": FORBIDDEN, "member": FORBIDDEN, "admin": 200, "billing_read": 200,
              "owner": 200, "other_owner": NOT_FOUND, "staff": 200}),
    write("cancel", lambda w: reverse("portal:cancel"), who="owner"),
    write("plan change", lambda w: reverse("portal:plan-change"), who="owner", data={"plan": "business",
                                                                                      "interval": "month"}),
    write("top-up", lambda w: reverse("portal:buy-topup"), who="owner",
          data={"pack": "credits-1k", "request_key": "9a1f6c64-54a4-4a1e-9d6a-0a4cf3c1b2de"}),
    write("credit alert", lambda w: reverse("portal:credit-alert"), who="managers", data={"threshold_pct": "30"}),
    write("billing details", lambda w: reverse("portal:payment"), who="managers",
          data={"billing_email": "ap@example.com", "country": "US"}),
    write("payment method", lambda w: reverse("portal:payment-method"), who="managers", data={"card": "succeeds"}),
    write("pay invoice", lambda w: reverse("portal:invoice-pay", args=[w["unpaid"].pk]), who="managers",
          on_this_org=True),
    write("invite", lambda w: reverse("portal:invite"), who="managers", ok=200,
          data={"email": "new@example.com", "role": "member"}),
    write("remove member", lambda w: reverse("portal:member-remove", args=[w["target"].pk]), who="managers",
          on_this_org=True),
    write("change role", lambda w: reverse("portal:member-role", args=[w["target"].pk]), who="managers",
          data={"role": "viewer"}, on_this_org=True),
    write("grant billing:read", lambda w: reverse("portal:member-billing-read", args=[w["target"].pk]),
          who="managers", data={"allowed": "1"}, on_this_org=True),
    write("revoke invitation", lambda w: reverse("portal:invitation-revoke", args=[w["invitation"].pk]),
          who="managers", on_this_org=True),
    write("cap", lambda w: reverse("portal:cap-set"), who="managers",
          data={"member_email": "x@example.com", "meter": "tool_calls", "limit": "5"}),
    write("revoke API key", lambda w: reverse("portal:api-key-revoke", args=[w["key"].pk]), who="managers",
          on_this_org=True),
    Endpoint("plans API", "GET", lambda w: "/api/billing/plans", {role: 200 for role in ROLES}, json=True),
    api("billing API", "GET", lambda w: "/api/billing", scope="billing:read"),
    api("usage summary API", "GET", lambda w: "/api/billing/usage", scope="billing:read"),
    api("invoices API", "GET", lambda w: "/api/billing/invoices", scope="billing:read"),
    api("invoice API", "GET", lambda w: f"/api/billing/invoices/{w['invoice'].pk}", scope="billing:read",
        on_this_org=True),
    api("invoice PDF API", "GET", lambda w: f"/api/billing/invoices/{w['invoice'].pk}/pdf", scope="billing:read",
        on_this_org=True),
    api("checkout API", "POST", lambda w: "/api/billing/checkout", scope="billing:write",
        data={"tier": "business", "billing_interval": "month", "success_url": "https://app.example.com/ok",
              "cancel_url": "https://app.example.com/no"}),
    api("cancel API", "POST", lambda w: "/api/billing/cancel", scope="billing:write"),
    api("usage event API", "POST", lambda w: "/api/v2/usage/events", scope="usage", ok=201,
        data={"id": "matrix-1", "meter": "api_requests", "quantity": 1}),
    api("quota API", "GET", lambda w: "/api/v2/quota/tool_calls", scope="usage"),
    api("sessions API", "POST", lambda w: "/api/v2/sessions", scope="usage", ok=201),
    api("session quota API", "GET", lambda w: "/api/v2/sessions/quota", scope="usage"),
    api("credits API", "GET", lambda w: "/api/v2/credits", scope="usage"),
    Endpoint("staff admin", "GET", lambda w: "/admin/",
             {**{role: LOGIN for role in ROLES}, "staff": 200}),
]


@pytest.fixture
def world(db):
    org = make_org(name="Matrix Co", plan="team")
    people = {role: add_member(org, role=role).user for role in ("viewer", "member", "admin")}
    reader = add_member(org)
    accounts.membership_set_billing_read(membership=reader, allowed=True, by=owner(org))
    people["billing_read"] = reader.user
    people["owner"] = owner(org).user
    other = make_org(name="Other Co", plan="team")
    people["other_owner"] = owner(other).user
    people["staff"] = UserFactory(is_staff=True, is_superuser=True)
    target = add_member(org, role=Role.MEMBER)
    invitation, _ = accounts.invitation_create(org=org, email="pending@example.com", role="member", by=owner(org))
    key, _ = api_key_create(org=org, name="matrix", kind="live", scopes=["usage"], actor=Actor.system("tests"),
                            may_grant_billing_write=False)
    now = clock.now(org=org)
    unpaid = invoice_issue(org=org, kind="manual", currency="USD", period=Period(now, now), actor=Actor.system("tests"),
                           lines=[LineSpec(LineKind.PLAN, "Consulting", Money(10_000, "USD"))])
    return {"org": org, "people": people, "target": target, "invitation": invitation, "key": key, "unpaid": unpaid,
            "invoice": Invoice.objects.filter(org=org, status="paid").first()}


def request(client: Client, endpoint: Endpoint, world: dict) -> int:
    url = endpoint.url(world)
    with transaction.atomic():
        if endpoint.method == "GET":
            response = client.get(url)
        elif endpoint.json:
            response = client.post(url, json.dumps(endpoint.data or {}), content_type="application/json")
        else:
            response = client.post(url, endpoint.data)
        transaction.set_rollback(True)
    return response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_it_should(role, world):
    assert world["invoice"] is not None
    client = Client()
    if role != "anonymous":
        client.force_login(world["people"][role])
    wrong = {}
    for endpoint in ENDPOINTS:
        status = request(client, endpoint, world)
        if status != endpoint.expect[role]:
            wrong[f"{endpoint.method} {endpoint.name}"] = (status, endpoint.expect[role])
    assert not wrong, f"{role}: (got, expected) {wrong}"
    assert Membership.objects.get(pk=world["target"].pk).removed_at is None  # nothing leaked past a rollback
