"""Issuing, revoking and looking up API keys."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from billing_portal.api.models import ApiKey, KeyKind, Scope
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import InvalidInput, NotAllowed

if TYPE_CHECKING:
    from accounts.models import Organization

LAST_USED_RESOLUTION = timedelta(seconds=60)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *, org: Organization, name: str, kind: str, scopes: list[str], actor: Actor, may_grant_billing_write: bool
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown once and never stored."""
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown or not scopes:
        raise InvalidInput("Choose at least one known scope.", fields={"scopes": [f"Unknown: {', '.join(unknown)}"] if unknown else ["Required."]})
    if kind not in KeyKind.values:
        raise InvalidInput("A key is live or test.", fields={"kind": ["Choose live or test."]})
    if Scope.BILLING_WRITE in scopes and not may_grant_billing_write:
        raise NotAllowed("Only the owner can grant the billing:write scope.")
    secret = f"bp_{kind}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        org=org,
        name=name[:100] or "API key",
        kind=kind,
        prefix=secret[:16],
        key_hash=hash_key(secret),
        scopes=sorted(set(scopes)),
        created_by=actor.user,
        created_at=clock.now(org=org),
    )
    audit_record(org=org, actor=actor, action="api_key.created", target=key,
                 after={"prefix": key.prefix, "kind": kind, "scopes": key.scopes})
    return key, secret


def api_key_revoke(*, key: ApiKey, actor: Actor) -> None:
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=clock.now(org=key.org))
    if revoked:
        audit_record(org=key.org, actor=actor, action="api_key.revoked", target=key, after={"prefix": key.prefix})


def api_key_lookup(secret: str) -> ApiKey | None:
    """The usable key for a secret, with its org, subscription and plan in the same query."""
    if not secret.startswith(("bp_live_", "bp_test_")) or len(secret) > 100:
        return None
    return (
        ApiKey.objects.usable()
        .select_related("org__test_clock", "org__subscription__plan")
        .filter(key_hash=hash_key(secret), org__purged_at__isnull=True)
        .first()
    )


def api_key_touch(key: ApiKey) -> None:
    """Record last use at most once a minute per key, so the hot path rarely writes for it."""
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
