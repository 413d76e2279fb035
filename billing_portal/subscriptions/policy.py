"""What an org may do in each subscription status: one explicit table, read by every caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from billing_portal.core.errors import NotAllowed
from billing_portal.subscriptions.models import Status


@dataclass(frozen=True)
class Capabilities:
    run_metered_work: bool
    change_plan: bool
    see_billing: bool
    buy_credits: bool
    create_api_keys: bool
    add_members: bool
    blocked_reason: str = ""


# What capability_require checks: the actions a status may refuse with its reason.
Gated = Literal["change_plan", "buy_credits", "create_api_keys", "add_members"]

STATUS_CAPABILITIES: dict[str, Capabilities] = {
    Status.TRIALING: Capabilities(
        run_metered_work=True, change_plan=True, see_billing=True, buy_credits=True, create_api_keys=True,
        add_members=True,
    ),
    Status.ACTIVE: Capabilities(
        run_metered_work=True, change_plan=True, see_billing=True, buy_credits=True, create_api_keys=True,
        add_members=True,
    ),
    # Dunning retries are under way: work continues while the owner fixes the card.
    Status.PAST_DUE: Capabilities(
        run_metered_work=True, change_plan=True, see_billing=True, buy_credits=True, create_api_keys=True,
        add_members=True,
    ),
    Status.PAUSED: Capabilities(
        run_metered_work=False,
        change_plan=True,
        see_billing=True,
        buy_credits=True,
        create_api_keys=True,
        add_members=True,
        blocked_reason="Metered work is paused: add a payment method or move to the Free plan to resume.",
    ),
    Status.CANCELED: Capabilities(
        run_metered_work=False,
        change_plan=False,
        see_billing=True,
        buy_credits=False,
        create_api_keys=False,
        add_members=False,
        blocked_reason="This account is closed.",
    ),
}


def capabilities(status: str) -> Capabilities:
    return STATUS_CAPABILITIES[status]


def capability_require(status: str, name: Gated) -> None:
    """NotAllowed, with the status's reason, unless an org in `status` may do `name`."""
    allowed = capabilities(status)
    if not getattr(allowed, name):
        raise NotAllowed(allowed.blocked_reason or "This subscription cannot change.")
