"""The portal's API keys page through the test client: who sees it, creating (secret shown once), revoking."""

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import membership_set_billing_read
from billing_portal.api.keys import hash_key
from billing_portal.api.models import ApiKey
from billing_portal.audit.services import Actor
from billing_portal.subscriptions.services.closure import org_request_closure
from tests.api.helpers import key_client, paying_org
from tests.factories import add_member
from tests.subscriptions.helpers import owner

pytestmark = pytest.mark.django_db
PAGE = reverse("portal:api-keys")


@pytest.fixture
def org():
    return paying_org()


def signed_in(client, membership):
    client.force_login(membership.user)
    return client


def create(client, **fields):
    """The POST, then the page it redirects to (which shows a new key's secret, once)."""
    return client.post(PAGE, {"name": "Backend", "kind": "live", "scopes": ["usage"], **fields}, follow=True)


def test_owner_and_admin_see_the_page_and_its_tab_others_neither(client, org):
    for membership in (owner(org), add_member(org, role=Role.ADMIN)):
        response = signed_in(client, membership).get(PAGE)
        assert response.status_code == 200
        assert f'href="{PAGE}"'.encode() in response.content
    for role in (Role.MEMBER, Role.VIEWER):
        member = add_member(org, role=role)
        signed_in(client, member)
        assert client.get(PAGE).status_code == 403
    billing_reader = add_member(org)
    membership_set_billing_read(membership=billing_reader, allowed=True, by=owner(org))
    signed_in(client, billing_reader)
    assert PAGE.encode() not in client.get(reverse("portal:invoices")).content


def test_a_new_key_is_shown_once_and_stored_hashed(client, org):
    signed_in(client, owner(org))
    response = create(client, kind="test", scopes=["usage", "billing:read"])
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    secret = response.context["secret"]
    assert secret.startswith("bp_test_") and secret.encode() in response.content
    key = ApiKey.objects.get(org=org)
    assert (key.key_hash, key.kind, key.scopes, key.created_by) == (
        hash_key(secret),
        "test",
        ["billing:read", "usage"],
        owner(org).user,
    )
    listing = client.get(PAGE).content
    assert key.prefix.encode() in listing and secret.encode() not in listing


def test_the_list_shows_each_keys_prefix_name_kind_scopes_and_last_use(client, org):
    used = key_client(org, "usage")
    used.get(reverse("credits"))
    unused = key_client(org, "billing:read")
    content = signed_in(client, owner(org)).get(PAGE).content.decode()
    last_used = ApiKey.objects.get(pk=used.api_key.pk).last_used_at
    row = content.split(f'data-key="{used.api_key.prefix}"')[1].split("</tr>")[0]
    assert all(text in row for text in ("Live", "usage", "Mar 10, 2026", f"{last_used:%b %-d, %Y %H:%M}"))
    assert "Never" in content.split(f'data-key="{unused.api_key.prefix}"')[1].split("</tr>")[0]


def test_only_the_owner_grants_billing_write(client, org):
    admin = add_member(org, role=Role.ADMIN)
    signed_in(client, admin)
    assert b'value="billing:write"' not in client.get(PAGE).content
    response = create(client, scopes=["billing:write"])
    assert response.status_code == 400
    assert not ApiKey.objects.exists()
    signed_in(client, owner(org))
    assert create(client, scopes=["billing:write"]).status_code == 200
    assert ApiKey.objects.get().scopes == ["billing:write"]


@pytest.mark.parametrize("fields", [{"name": ""}, {"scopes": []}, {"kind": "prod"}, {"scopes": ["admin"]}])
def test_bad_forms_create_nothing(client, org, fields):
    signed_in(client, owner(org))
    assert create(client, **fields).status_code == 400
    assert not ApiKey.objects.exists()


def test_a_closed_account_gets_no_new_keys(client, org):
    org_request_closure(org=org, by=owner(org), actor=Actor.system("tests"))
    signed_in(client, owner(org))
    response = create(client)
    assert response.status_code == 400 and b"This account is closed." in response.content
    assert not ApiKey.objects.filter(revoked_at__isnull=True).exists()


def test_revoking_stops_the_key_at_once(client, org):
    api = key_client(org, "billing:read")
    signed_in(client, add_member(org, role=Role.ADMIN))
    response = client.post(reverse("portal:api-key-revoke", args=[api.api_key.pk]))
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=api.api_key.pk).revoked_at is not None
    assert api.get(reverse("api-billing")).status_code == 401
    assert b"Revoke</button>" not in client.get(PAGE).content


def test_another_orgs_key_cannot_be_revoked(client, org):
    stranger = key_client(paying_org(name="Globex"), "usage")
    signed_in(client, owner(org))
    assert client.post(reverse("portal:api-key-revoke", args=[stranger.api_key.pk])).status_code == 404
    assert ApiKey.objects.get(pk=stranger.api_key.pk).revoked_at is None
