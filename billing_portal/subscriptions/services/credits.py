"""Where the subscription lifecycle hands over to the credit pool and the usage counters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from billing_portal.audit.services import Actor
from metering.services import credits_reseed_allotment

if TYPE_CHECKING:
    from accounts.models import Organization


def after_plan_change(*, org: Organization, actor: Actor) -> None:
    """Credits and quotas follow the plan at once: the window is opened if the change starts a new one (old
    allotment expires), then limits and allotment are set to the new plan's, pooled credits are forfeited or
    members' top-ups pooled. The reseed runs on a window already open too: a usage call or the cycle reset job
    may have opened it, under the old plan, a moment before the change at the period end."""
    credits_reseed_allotment(org=org, actor=actor, reason="Plan changed")
