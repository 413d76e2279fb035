"""The metering rules as pure functions: every path that counts, debits or reports goes through these."""

from __future__ import annotations

from dataclasses import dataclass

from metering.models import LineItem

OK, GRACE, BLOCKED = "ok", "grace", "blocked"
# Which meters cost credits, and under which line item; other meters (api_requests) are quota-only.
METER_LINE_ITEMS = {"ai_tokens": LineItem.LLM, "tool_calls": LineItem.TOOL, "storage": LineItem.STORAGE}
DEFAULT_RATE_KEY = "*"
# The largest cap, quota or credit grant: counters and balances stay far inside 64-bit integers.
MAX_LIMIT = 10**15


def fits(used: int, quantity: int, limit: int | None) -> bool:
    """Whether `quantity` more stays within `limit` (None: unlimited)."""
    return limit is None or used + quantity <= limit


def usage_state(used: int, quota: int | None) -> str:
    """What a successful call answers: ok within the quota, grace above it (up to the hard limit)."""
    return GRACE if quota is not None and used > quota else OK


def meter_state(used: int, quota: int | None, hard_limit: int | None) -> str:
    """What the dashboard shows: blocked once nothing more fits under the hard limit."""
    if hard_limit is not None and used >= hard_limit:
        return BLOCKED
    return usage_state(used, quota)


def remaining(limit: int | None, used: int) -> int | None:
    return None if limit is None else max(limit - used, 0)


@dataclass(frozen=True)
class Rate:
    credits: int
    per_units: int


def credit_cost(quantity: int, rate: Rate | None) -> int:
    """Credits for `quantity` units, rounded up per call so no call is free by rounding."""
    if rate is None or rate.credits == 0:
        return 0
    return -(-quantity * rate.credits // rate.per_units)


def line_for(meter: str, *, model: str, integration: str, byok: bool) -> tuple[str, str]:
    """(line item, rate key) an event is priced under; ('', '') when it costs no credits.

    Model calls on the customer's own key (BYOK) are free; BYOK does not make tool calls free.
    """
    line_item = METER_LINE_ITEMS.get(meter, "")
    if line_item == LineItem.LLM and byok:
        return "", ""
    if line_item == LineItem.LLM:
        return line_item, model or DEFAULT_RATE_KEY
    if line_item == LineItem.TOOL:
        return line_item, integration or DEFAULT_RATE_KEY
    if line_item == LineItem.STORAGE:
        return line_item, DEFAULT_RATE_KEY
    return "", ""


def split_debit(*, topup_balance: int, allotment_balance: int, cost: int) -> tuple[int, int] | None:
    """(from top-ups, from allotment) for a debit: top-ups go first. None when the balance is short."""
    if cost > topup_balance + allotment_balance:
        return None
    from_topups = min(cost, topup_balance)
    return from_topups, cost - from_topups


def below_threshold(*, balance: int, cycle_grant: int, threshold_pct: int) -> bool:
    return cycle_grant > 0 and balance * 100 < cycle_grant * threshold_pct
