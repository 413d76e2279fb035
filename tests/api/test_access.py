"""Who may call what: keys and scopes, revoked and test keys, sessions and roles, request ids, throttling."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import membership_set_billing_read
from billing_portal.api.keys import api_key_revoke
from billing_portal.api.models import ApiKey
from billing_portal.api.throttles import PerKeyRateThrottle
from tests.api.helpers import key_client, paying_org, session_client
from tests.factories import TEST_ACTOR, UserFactory, add_member
from tests.metering.helpers import metered_org
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db

# Each protected endpoint, called so that it changes nothing, and the scope it needs.
CALLS = {
    "billing": ("get", reverse("api-billing"), "billing:read"),
    "usage": ("get", reverse("api-usage"), "billing:read"),
    "invoices": ("get", reverse("api-invoices"), "billing:read"),
    "checkout": ("post", reverse("api-checkout"), "billing:write"),  # an empty body: a 400 once allowed in
    "credits": ("get", reverse("credits"), "usage"),
    "quota": ("get", reverse("quota-tokens"), "usage"),
    "sessions": ("get", reverse("sessions-quota"), "usage"),
}


def call(client, name):
    method, url, _ = CALLS[name]
    return getattr(client, method)(url, {}, format="json") if method == "post" else client.get(url)


def allowed(client):
    return {name for name in CALLS if call(client, name).status_code != 403}


@pytest.mark.parametrize("scope", ["usage", "billing:read", "billing:write"])
def test_a_key_reaches_exactly_what_its_scope_covers(scope):
    covered = {name for name, (*_, needs) in CALLS.items() if needs == scope}
    assert allowed(key_client(metered_org(), scope)) == covered


def test_a_scope_refusal_names_the_missing_scope():
    response = key_client(paying_org(), "usage").get(reverse("api-billing"))
    assert response.json() == {
        "error": {"code": "permission_denied", "message": "This call needs the billing:read scope."}
    }


@pytest.mark.parametrize(
    ("role", "billing_read", "expected"),
    [
        (Role.OWNER, False, set(CALLS)),
        (Role.ADMIN, False, set(CALLS) - {"checkout"}),
        (Role.MEMBER, True, set(CALLS) - {"checkout"}),
        (Role.MEMBER, False, {"credits", "quota", "sessions"}),
        (Role.VIEWER, False, {"credits", "quota", "sessions"}),
    ],
)
def test_a_signed_in_member_reaches_what_their_role_allows(role, billing_read, expected):
    org = metered_org()
    membership = owner(org) if role == Role.OWNER else add_member(org, role=role)
    if billing_read:
        membership_set_billing_read(membership=membership, allowed=True, by=owner(org))
    assert allowed(session_client(membership)) == expected


def test_someone_in_no_organization_is_refused_and_nobody_at_all_is_asked_for_a_key():
    client = APIClient()
    client.force_login(UserFactory())
    assert call(client, "billing").status_code == 403
    response = APIClient().get(reverse("api-billing"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer bp_live_unknown", "Token abc", "Bearer ", "Basic dXNlcjpwdw=="])
def test_unknown_keys_and_other_schemes_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(reverse("api-billing"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_key_is_401_and_its_org_sees_when_it_was_last_used():
    org = paying_org()
    client = key_client(org, "billing:read")
    assert client.get(reverse("api-billing")).status_code == 200
    key = ApiKey.objects.get(pk=client.api_key.pk)
    assert key.last_used_at is not None
    api_key_revoke(key=key, actor=TEST_ACTOR)
    assert client.get(reverse("api-billing")).status_code == 401


def test_a_test_key_reads_billing_like_a_live_one():
    org = paying_org()
    live = key_client(org, "billing:read").get(reverse("api-billing")).json()
    assert key_client(org, "billing:read", kind="test").get(reverse("api-billing")).json() == live


def test_another_orgs_key_sees_only_its_own_org():
    acme, globex = paying_org(name="Acme"), paying_org(plan="business", name="Globex")
    assert key_client(acme, "billing:read").get(reverse("api-billing")).json()["plan_tier"] == "team"
    assert key_client(globex, "billing:read").get(reverse("api-billing")).json()["plan_tier"] == "business"


def test_the_request_id_is_echoed_or_made_up_on_answers_and_errors():
    client = key_client(paying_org(), "billing:read")
    for url in (reverse("api-billing"), reverse("api-invoice", args=[10**9])):
        assert client.get(url, HTTP_X_REQUEST_ID="trace-42")["X-Request-Id"] == "trace-42"
    anonymous = APIClient().get(reverse("api-billing"), HTTP_X_REQUEST_ID="trace-43")
    assert (anonymous.status_code, anonymous["X-Request-Id"]) == (401, "trace-43")
    minted = client.get(reverse("api-billing"), HTTP_X_REQUEST_ID="not a plain id!")["X-Request-Id"]
    assert len(minted) == 32 and minted != client.get(reverse("api-billing"))["X-Request-Id"]


def test_each_key_has_its_own_budget_and_a_429_says_when_to_retry(monkeypatch):
    monkeypatch.setattr(PerKeyRateThrottle, "rate", "2/min", raising=False)
    cache.clear()
    org = paying_org()
    first, second = key_client(org, "billing:read"), key_client(org, "billing:read")
    assert [first.get(reverse("api-billing")).status_code for _ in range(2)] == [200, 200]
    throttled = first.get(reverse("api-billing"))
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(throttled["Retry-After"]) <= 120  # up to two windows: the sliding estimate weighs the last
    assert second.get(reverse("api-billing")).status_code == 200
