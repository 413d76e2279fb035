"""What an org may do in each subscription status: one explicit table, read by every caller."""

from __future__ import annotations

from dataclasses import dataclass

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
