"""Issuing, revoking and looking up API keys."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import router, transaction
from django.db.models.query import get_related_populators

from billing_portal.api.models import ApiKey, KeyKind, Scope
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.db import server_cursor
from billing_portal.core.errors import InvalidInput, NotAllowed
from billing_portal.subscriptions.policy import capability_require
from billing_portal.subscriptions.services.seats import subscription_locked

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
        problem = f"Unknown: {', '.join(unknown)}" if unknown else "Required."
        raise InvalidInput("Choose at least one known scope.", fields={"scopes": [problem]})
    if kind not in KeyKind.values:
        raise InvalidInput("A key is live or test.", fields={"kind": ["Choose live or test."]})
    if Scope.BILLING_WRITE in scopes and not may_grant_billing_write:
        raise NotAllowed("Only the owner can grant the billing:write scope.")
    secret = f"bp_{kind}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        # Checked under the lock closure takes, which revokes every key: none is made just after that sweep.
        capability_require(subscription_locked(org).status, "create_api_keys")
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


_HASH = "\x00key-hash"  # stands in for the secret's hash while the lookup is compiled


class _CompiledLookup:
    """The ORM's own SQL and row-to-instances plan for the key lookup, compiled once per process.

    Compiling a select_related over four models costs more than running it, and every API call runs it; the SQL,
    the columns and the converters change only with the code.
    """

    def __init__(self, db: str) -> None:
        queryset = (
            ApiKey.objects.db_manager(db)
            .usable()
            .select_related("org__subscription__plan")
            .filter(key_hash=_HASH, org__purged_at__isnull=True)
            .order_by()[:1]
        )
        self.db = db
        self.compiler = queryset.query.get_compiler(db)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.slot = self.params.index(_HASH)
        select, info = self.compiler.select, self.compiler.klass_info
        self.converters = self.compiler.get_converters([column[0] for column in select])
        first, last = info["select_fields"][0], info["select_fields"][-1] + 1
        self.own = slice(first, last)
        self.names = [column[0].target.attname for column in select[first:last]]
        self.related = get_related_populators(info, select, db)

    def get(self, key_hash: str) -> ApiKey | None:
        params = [*self.params]
        params[self.slot] = key_hash
        with server_cursor(self.db) as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchmany(1)
        if not rows:
            return None
        row = next(iter(self.compiler.apply_converters(rows, self.converters))) if self.converters else rows[0]
        key = ApiKey.from_db(self.db, self.names, row[self.own])
        for populator in self.related:
            populator.populate(row, key)
        return key


@functools.cache
def _compiled_lookup(db: str) -> _CompiledLookup:
    return _CompiledLookup(db)


def api_key_lookup(secret: str) -> ApiKey | None:
    """The usable key for a secret, with its org, subscription and plan in the same query."""
    if not secret.startswith(("bp_live_", "bp_test_")) or len(secret) > 100:
        return None
    return _compiled_lookup(router.db_for_read(ApiKey)).get(hash_key(secret))


def api_key_touch(key: ApiKey) -> None:
    """Record last use at most once a minute per key, so the hot path rarely writes for it."""
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
