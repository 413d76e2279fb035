"""API test data: orgs on a test clock, keys made through api_key_create, and session clients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from billing_portal.api.keys import api_key_create
from billing_portal.api.models import Scope
from tests.factories import TEST_ACTOR, make_org

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
ALL_SCOPES = tuple(Scope.values)


def paying_org(plan: str = "team", **kwargs: Any) -> Organization:
    return make_org(plan=plan, clock_at=NOW, **kwargs)


def key_client(org: Organization, *scopes: str, kind: str = "live") -> APIClient:
    """A client sending a new key of the org (all scopes unless named); the key is `client.api_key`."""
    key, secret = api_key_create(
        org=org,
        name="tests",
        kind=kind,
        scopes=list(scopes or ALL_SCOPES),
        actor=TEST_ACTOR,
        may_grant_billing_write=True,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.api_key = key  # type: ignore[attr-defined]
    return client


def session_client(membership: Membership, *, csrf: bool = False) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(membership.user)
    return client
