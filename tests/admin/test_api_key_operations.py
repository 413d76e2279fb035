"""Staff issue an org's API keys (the secret shown once, never stored) and revoke them, from admin."""

import re

import pytest

from billing_portal.api.keys import api_key_create, api_key_lookup
from billing_portal.api.models import ApiKey
from billing_portal.audit.services import Actor
from tests.admin.conftest import last_entry, operation_url, staff
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def test_support_issues_a_key_whose_secret_is_shown_once(client, login):
    org = make_org(plan="team")
    user = login("api.issue_api_key", "accounts.view_organization")
    page = client.post(operation_url(org, "issue-api-key"),
                       {"name": "CI deploys", "kind": "live", "scopes": ["usage", "billing:read"]})
    assert page.status_code == 200 and "no-cache" in page["Cache-Control"]
    secret = re.search(r"bp_live_[\w-]+", page.content.decode()).group(0)
    key = api_key_lookup(secret)
    assert (key.org, key.name, key.scopes) == (org, "CI deploys", ["billing:read", "usage"])
    assert secret not in str(list(ApiKey.objects.values_list()))  # only the hash is kept
    entry = last_entry("api_key.created")
    assert (entry.org, entry.actor_user, entry.actor_kind) == (org, user, "staff")
    assert "messages" not in client.cookies  # the secret never went through the message storage


def test_revoking_from_admin_stops_the_key(client, login):
    org = make_org(plan="team")
    key, secret = api_key_create(org=org, name="leaked", kind="live", scopes=["usage"],
                                 actor=Actor.system("tests"), may_grant_billing_write=False)
    login("api.revoke_api_key", "api.view_apikey")
    assert client.post(operation_url(key, "revoke-api-key"), {}).status_code == 302
    assert api_key_lookup(secret) is None
    assert last_entry("api_key.revoked").target_id == str(key.pk)


def test_staff_without_the_permission_cannot(client):
    org = make_org(plan="team")
    key, _ = api_key_create(org=org, name="k", kind="live", scopes=["usage"], actor=Actor.system("tests"),
                            may_grant_billing_write=False)
    client.force_login(staff("accounts.view_organization", "api.view_apikey"))
    assert client.post(operation_url(org, "issue-api-key"), {"name": "x", "kind": "live",
                                                              "scopes": ["usage"]}).status_code == 403
    assert client.post(operation_url(key, "revoke-api-key"), {}).status_code == 403
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_support_group_holds_both(db):
    member = staff(group="Support")
    assert member.has_perm("api.issue_api_key") and member.has_perm("api.revoke_api_key")
