"""Concurrent-session slots: taken under the org's window-row lock, freed by ending or by timing out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.db.models import Min, QuerySet

from billing_portal.audit.services import Actor
from billing_portal.catalog.selectors import Entitlements, entitlements_for
from billing_portal.core import clock
from billing_portal.core.errors import NotFound
from billing_portal.subscriptions.policy import capabilities
from metering.errors import ConcurrencyLimitReached, PaymentRequired
from metering.models import UsageSession, UsageWindow
from metering.services.cycle import credits_cycle_reset
from metering.services.rules import remaining

if TYPE_CHECKING:
    from accounts.models import Membership, Organization

SESSION_TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class SessionQuota:
    limit: int | None
    active: int
    remaining: int | None

    def as_json(self) -> dict[str, int | None]:
        return {"limit": self.limit, "active": self.active, "remaining": self.remaining}


def _active_sessions(org: Organization, test_mode: bool) -> QuerySet[UsageSession]:
    return UsageSession.objects.filter(
        org=org, test_mode=test_mode, ended_at__isnull=True, expires_at__gt=clock.now(org=org)
    )


def session_quota(
    *, org: Organization, test_mode: bool = False, entitlements: Entitlements | None = None
) -> SessionQuota:
    """Test-key sessions have their own slots of the same size, so testing never takes production's.

    `entitlements`: the org's, when the caller has them already."""
    entitlements = entitlements or entitlements_for(plan=org.subscription.plan, org=org)
    limit = entitlements.limit_concurrent_sessions
    active = _active_sessions(org, test_mode).count()
    return SessionQuota(limit=limit, active=active, remaining=remaining(limit, active))


def session_open(
    *,
    org: Organization,
    test_mode: bool = False,
    api_key_id: int | None = None,
    member: Membership | None = None,
) -> UsageSession:
    capability = capabilities(org.subscription.status)
    if not capability.run_metered_work:
        raise PaymentRequired(capability.blocked_reason)
    if not UsageWindow.objects.filter(org=org).exists():
        credits_cycle_reset(org=org, actor=Actor.system("session_open"))
    with transaction.atomic():
        UsageWindow.objects.select_for_update().get(org=org)  # one slot-taker per org at a time
        quota = session_quota(org=org, test_mode=test_mode)
        now = clock.now(org=org)
        if quota.remaining == 0:
            raise ConcurrencyLimitReached(
                f"All {quota.limit} concurrent sessions of your plan are in use; "
                "end one or wait for one to time out.",
                retry_after=_seconds_until_a_slot_frees(org, test_mode, now),
            )
        return UsageSession.objects.create(
            org=org,
            test_mode=test_mode,
            api_key_id=api_key_id,
            member=member,
            started_at=now,
            expires_at=now + SESSION_TIMEOUT,
        )


def _seconds_until_a_slot_frees(org: Organization, test_mode: bool, now: datetime) -> int:
    """When the first active session times out, unless one is ended sooner (a plan without slots: a full
    timeout, as good a time as any to ask again)."""
    first = _active_sessions(org, test_mode).aggregate(first=Min("expires_at"))["first"]
    return max(1, math.ceil(((first or now + SESSION_TIMEOUT) - now).total_seconds()))


def session_end(*, org: Organization, session_id: UUID, test_mode: bool = False) -> UsageSession:
    """Free the slot; ending an ended or timed-out session changes nothing. A test key sees only test sessions,
    a live key only live ones (as when opening them)."""
    session = UsageSession.objects.filter(org=org, test_mode=test_mode, pk=session_id).first()
    if session is None:
        raise NotFound("No such session.")
    now = clock.now(org=org)
    if session.ended_at is None and session.expires_at > now:
        UsageSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(ended_at=now)
        session.refresh_from_db()
    return session
