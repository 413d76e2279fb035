"""Where the subscription lifecycle hands over to the credit pool and the usage counters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing_portal.audit.services import Actor
from metering.services import credits_cycle_reset, credits_reseed_allotment

if TYPE_CHECKING:
    from accounts.models import Organization


def after_plan_change(*, org: Organization, actor: Actor, new_cycle: bool) -> None:
    """Credits and quotas follow the plan: a new cycle opens a fresh window (old allotment expires, the new one
    is granted); a change inside the cycle reseeds the allotment and lifts or lowers the limits at once."""
    if new_cycle:
        credits_cycle_reset(org=org, actor=actor)
    else:
        credits_reseed_allotment(org=org, actor=actor, reason="Plan changed")
