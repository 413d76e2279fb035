"""Posting to the credit ledger: every balance change is one entry, applied to its pool in the same step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing_portal.subscriptions.periods import Period
from metering.models import CreditEntry, CreditPool, EntryKind


def _apply(pool: CreditPool, *, kind: str, allotment: int, topup: int) -> None:
    pool.allotment_balance += allotment
    pool.topup_balance += topup
    if pool.allotment_balance < 0 or pool.topup_balance < 0:
        raise ValueError(f"ledger entry {kind} would overdraw pool {pool.pk}")


def ledger_post(
    pool: CreditPool,
    *,
    kind: str,
    at: datetime,
    allotment: int = 0,
    topup: int = 0,
    actor_label: str = "",
    reason: str = "",
    idempotency_key: str | None = None,
    **cause: Any,
) -> CreditEntry:
    """Apply the deltas to `pool` (in memory) and return the unsaved entry; the caller saves both together."""
    _apply(pool, kind=kind, allotment=allotment, topup=topup)
    return CreditEntry(
        org_id=pool.org_id,
        pool=pool,
        member_id=pool.member_id,
        kind=kind,
        allotment_delta=allotment,
        topup_delta=topup,
        allotment_balance_after=pool.allotment_balance,
        topup_balance_after=pool.topup_balance,
        at=at,
        window_start=pool.window_start,
        actor_label=actor_label,
        reason=reason,
        idempotency_key=idempotency_key,
        **cause,
    )


# A usage debit as a row: its entry's own columns; org, kind and time are the request's.
DEBIT_COLUMNS = (
    "pool_id",
    "member_id",
    "allotment_delta",
    "topup_delta",
    "allotment_balance_after",
    "topup_balance_after",
    "window_start",
    "line_item",
    "line_key",
    "usage_event_id",
)


def ledger_debit(
    pool: CreditPool, *, allotment: int, topup: int, line_item: str, line_key: str, usage_event_id: int
) -> tuple[Any, ...]:
    """ledger_post for usage debits, which come a thousand at a time: the same change to `pool`, the entry as a
    row of DEBIT_COLUMNS (a model instance per debit would cost more than the rest of the batch)."""
    _apply(pool, kind=EntryKind.DEBIT, allotment=allotment, topup=topup)
    return (
        pool.pk,
        pool.member_id,
        allotment,
        topup,
        pool.allotment_balance,
        pool.topup_balance,
        pool.window_start,
        line_item,
        line_key,
        usage_event_id,
    )


def _allotment_grant(
    pool: CreditPool, *, window: Period, allotment: int, at: datetime, actor_label: str
) -> CreditEntry:
    # A plan change can bring a pool back to a window start it held before, so the key names the move
    # (from, to, when); the window row's lock is what makes each move happen once.
    held_from = pool.window_start.isoformat() if pool.window_start else "-"
    key = f"allotment:{pool.pk}:{held_from}:{window.start.isoformat()}"
    pool.window_start = window.start
    pool.allotment_granted = allotment
    pool.cycle_grant = allotment + pool.topup_balance
    return ledger_post(
        pool,
        kind=EntryKind.ALLOTMENT_GRANT,
        at=at,
        allotment=allotment,
        actor_label=actor_label,
        reason="Monthly allotment.",
        idempotency_key=f"{key}:{at.isoformat()}",
    )


def pool_roll(
    pool: CreditPool, *, window: Period, allotment: int, at: datetime, actor_label: str
) -> list[CreditEntry]:
    """Move a pool into `window`: the old allotment expires, the new one is granted, top-ups stay.

    The ledger keys on (pool, window) make a second roll into the same window impossible.
    """
    if pool.window_start == window.start:
        return []
    entries = []
    if pool.allotment_balance:
        entries.append(
            ledger_post(
                pool,
                kind=EntryKind.ALLOTMENT_EXPIRY,
                at=at,
                allotment=-pool.allotment_balance,
                actor_label=actor_label,
                reason="Unused allotment expires at the end of the cycle.",
                idempotency_key=f"expiry:{pool.pk}:{pool.window_start.isoformat()}:{at.isoformat()}",
            )
        )
    entries.append(_allotment_grant(pool, window=window, allotment=allotment, at=at, actor_label=actor_label))
    return entries


def pool_create(
    *, org_id: int, member_id: int | None, window: Period, allotment: int, at: datetime, actor_label: str
) -> tuple[CreditPool, list[CreditEntry]]:
    pool = CreditPool.objects.create(org_id=org_id, member_id=member_id, window_start=window.start)
    return pool, [_allotment_grant(pool, window=window, allotment=allotment, at=at, actor_label=actor_label)]


def pool_save(pool: CreditPool, entries: list[CreditEntry]) -> None:
    CreditEntry.objects.bulk_create(entries)
    CreditPool.objects.filter(pk=pool.pk).update(
        window_start=pool.window_start,
        allotment_balance=pool.allotment_balance,
        topup_balance=pool.topup_balance,
        allotment_granted=pool.allotment_granted,
        cycle_grant=pool.cycle_grant,
        low_alert_sent_for=pool.low_alert_sent_for,
        low_alert_open=pool.low_alert_open,
    )
