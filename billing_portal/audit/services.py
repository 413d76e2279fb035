"""The one write path into the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import models

from billing_portal.audit.models import ActorKind, AuditEntry
from billing_portal.core import clock, requestid

if TYPE_CHECKING:
    from accounts.models import Organization, User


@dataclass(frozen=True)
class Actor:
    """Who made a change: a signed-in user, a staff member in admin, a system job, an API key or Stripe."""

    kind: str
    user: User | None = None
    label: str = ""

    @classmethod
    def for_user(cls, user: User) -> Actor:
        kind = ActorKind.STAFF if user.is_staff else ActorKind.USER
        return cls(kind=kind, user=user, label=user.email)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(kind=ActorKind.SYSTEM, label=job)

    @classmethod
    def stripe(cls, event_id: str) -> Actor:
        return cls(kind=ActorKind.STRIPE, label=event_id)

    @classmethod
    def api_key(cls, key_prefix: str) -> Actor:
        return cls(kind=ActorKind.API_KEY, label=key_prefix)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def audit_record(
    *,
    org: Organization | None,
    actor: Actor,
    action: str,
    target: models.Model | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        at=clock.now(org=org),
        org=org,
        org_label=org.slug if org else "",
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label or (actor.user.email if actor.user else ""),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        reason=reason,
        request_id=requestid.current(),
    )
