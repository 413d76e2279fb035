"""Bringing an org's pools and counters into a window: at subscription start, each cycle, plan changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from accounts.models import Membership
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.selectors import Entitlements, entitlements_for
from billing_portal.core import clock
from billing_portal.subscriptions.models import Subscription
from billing_portal.subscriptions.periods import Period
from metering.models import CreditEntry, CreditPool, EntryKind, UsageWindow
from metering.services.alerts import alerts_after_grant
from metering.services.ledger import ledger_post, pool_create, pool_roll, pool_save
from metering.services.windows import counters_open, usage_limits_refresh, window_for

if TYPE_CHECKING:
    from accounts.models import Organization


def _window_locked(org: Organization, window: Period, at: datetime) -> tuple[UsageWindow, bool]:
    """The org's window row under lock; True when this call created it."""
    row = UsageWindow.objects.select_for_update().filter(org=org).first()
    if row is not None:
        return row, False
    try:
        with transaction.atomic():
            return UsageWindow.objects.create(
                org=org, window_start=window.start, window_end=window.end, reset_at=at
            ), True
    except IntegrityError:  # another process opened it first; it has committed by now
        return UsageWindow.objects.select_for_update().get(org=org), False


def _allotment(entitlements: Entitlements, subscription: Subscription, pool: CreditPool, active: set[int]) -> int:
    """What a pool of this kind gets per window on the current plan; 0 for pools the plan doesn't use and for
    members who left (their old allotment expires; their top-ups stay, should they come back)."""
    is_member_pool = pool.member_id is not None
    if is_member_pool and pool.member_id not in active:
        return 0
    if entitlements.pooled_credits:
        return 0 if is_member_pool else entitlements.pooled_allotment(subscription.seat_quantity)
    return entitlements.credit_allotment if is_member_pool else 0


def _active_member_ids(org: Organization) -> set[int]:
    return set(Membership.objects.active().filter(org=org).values_list("pk", flat=True))


def _pools_locked(org: Organization) -> list[CreditPool]:
    return list(CreditPool.objects.select_for_update().filter(org=org).order_by("pk"))


def _left_behind(
    pools: list[CreditPool], member_id: int, *, window: Period, at: datetime, actor: Actor
) -> tuple[int | None, int]:
    """A person who left and came back gets their top-ups and staff grants back (they roll over), and, within the
    window, what was left of its allotment rather than a second one. Both leave the pools of their earlier
    memberships here, to be granted in the new one. Returns (allotment left, None when not back within the
    window; credits moved)."""
    members = [pool.member_id for pool in pools if pool.member_id is not None]
    user_of = dict(Membership.objects.filter(pk__in=[*members, member_id]).values_list("pk", "user_id"))
    same_person = [
        pool for pool in pools
        if pool.member_id not in (None, member_id) and user_of[pool.member_id] == user_of[member_id]
    ]  # fmt: skip
    moved = 0
    for pool in same_person:
        if pool.topup_balance:
            moved += pool.topup_balance
            entry = ledger_post(pool, kind=EntryKind.TRANSFER, at=at, topup=-pool.topup_balance,
                                actor_label=actor.label, reason="Moved to the member's new membership.",
                                idempotency_key=f"moved-topups:{pool.pk}:{member_id}")
            pool_save(pool, [entry])
    earlier = [pool for pool in same_person if pool.window_start == window.start]
    if not earlier:
        return None, moved
    left = 0
    for pool in earlier:
        if pool.allotment_balance:
            left += pool.allotment_balance
            entry = ledger_post(
                pool,
                kind=EntryKind.ALLOTMENT_EXPIRY,
                at=at,
                allotment=-pool.allotment_balance,
                actor_label=actor.label,
                reason="Moved to the member's new membership.",
                idempotency_key=f"moved:{pool.pk}:{member_id}",
            )
            pool_save(pool, [entry])
    return left, moved


def _pools_roll(
    org: Organization,
    subscription: Subscription,
    entitlements: Entitlements,
    window: Period,
    at: datetime,
    actor: Actor,
    member_ids: Iterable[int],
    active: set[int],
) -> None:
    """Roll every pool of the org into the window and create the pools the plan needs that don't exist yet
    (`member_ids`' on per-member plans); `active` are the org's current members."""
    pools = _pools_locked(org)
    by_member = {pool.member_id: pool for pool in pools}
    wanted: list[int | None] = [None] if entitlements.pooled_credits else list(member_ids)
    for member_id in wanted:
        if member_id not in by_member:
            by_member[member_id] = CreditPool(org=org, member_id=member_id)
    for member_id, pool in sorted(by_member.items(), key=lambda item: item[1].pk or 0):
        allotment = _allotment(entitlements, subscription, pool, active)
        moved = 0
        if pool.pk is None and member_id is not None:
            left, moved = _left_behind(pools, member_id, window=window, at=at, actor=actor)
            allotment = allotment if left is None else min(left, allotment)
        if pool.pk is None:
            pool, entries = pool_create(
                org_id=org.pk,
                member_id=member_id,
                window=window,
                allotment=allotment,
                at=at,
                actor_label=actor.label,
            )
            if moved:
                entries.append(ledger_post(pool, kind=EntryKind.TRANSFER, at=at, topup=moved, actor_label=actor.label,
                                           reason="Brought from the member's earlier membership."))
        else:
            entries = pool_roll(pool, window=window, allotment=allotment, at=at, actor_label=actor.label)
        alert_was_open = pool.low_alert_open
        alerts_after_grant(pool, threshold_pct=org.credit_alert_threshold_pct, at=at)
        if entries or pool.low_alert_open != alert_was_open:  # a pool already in the window: nothing to write
            pool_save(pool, entries)


def credits_cycle_reset(*, org: Organization, actor: Actor, at: datetime | None = None) -> bool:
    """Bring pools and counters to the window containing `at`: old allotment expires, the new one is granted.

    Idempotent per (org, window): the window row is locked, and a second call (or a concurrent one) finds the
    window already open and changes nothing. Returns whether this call opened the window.
    """
    at = at or clock.now(org=org)
    with transaction.atomic():
        subscription = Subscription.objects.select_related("plan").get(org=org)
        window = window_for(org, subscription, at)
        row, created = _window_locked(org, window, at)
        if not created and (row.window_start, row.window_end) == (window.start, window.end):
            return False
        entitlements = entitlements_for(plan=subscription.plan, org=org)
        counters_open(org=org, window=window, entitlements=entitlements)
        active = _active_member_ids(org)
        _pools_roll(org, subscription, entitlements, window, at, actor, active, active)
        UsageWindow.objects.filter(pk=row.pk).update(
            window_start=window.start, window_end=window.end, reset_at=at
        )
        audit_record(
            org=org,
            actor=actor,
            action="credits.cycle_reset",
            target=row,
            before={"window_start": row.window_start},
            after={"window_start": window.start, "window_end": window.end},
        )
    return True


def credits_pools_ready(*, org: Organization, member_ids: Iterable[int], actor: Actor) -> None:
    """The hot path's slow path: open the window if needed, the counters of meters staff added since it opened,
    and the pools of members joining mid-window."""
    credits_cycle_reset(org=org, actor=actor)
    with transaction.atomic():
        subscription = Subscription.objects.select_related("plan").get(org=org)
        at = clock.now(org=org)
        window = window_for(org, subscription, at)
        _window_locked(org, window, at)
        entitlements = entitlements_for(plan=subscription.plan, org=org)
        counters_open(org=org, window=window, entitlements=entitlements)
        _pools_roll(org, subscription, entitlements, window, at, actor, member_ids, _active_member_ids(org))


def _forfeit(pool: CreditPool, *, at: datetime, actor: Actor, reason: str) -> list[CreditEntry]:
    if not pool.balance:
        return []
    return [
        ledger_post(
            pool,
            kind=EntryKind.FORFEIT,
            at=at,
            allotment=-pool.allotment_balance,
            topup=-pool.topup_balance,
            actor_label=actor.label,
            reason=reason,
        )
    ]


def _reseed(pool: CreditPool, *, full: int, at: datetime, actor: Actor, reason: str) -> list[CreditEntry]:
    """Set the allotment to the new plan's, minus what this window already spent from the allotment."""
    spent = pool.allotment_granted - pool.allotment_balance
    target = max(full - spent, 0)
    pool.cycle_grant += target - pool.allotment_balance
    # What was spent stays spent: after a downgrade below it, a later upgrade must not give it back.
    pool.allotment_granted = spent + target
    if target == pool.allotment_balance:
        return []
    return [
        ledger_post(
            pool,
            kind=EntryKind.PLAN_CHANGE,
            at=at,
            allotment=target - pool.allotment_balance,
            actor_label=actor.label,
            reason=reason,
        )
    ]


def credits_reseed_allotment(*, org: Organization, actor: Actor, reason: str) -> None:
    """After a plan change: the new plan's limits apply now and its allotment replaces the old one.

    Each pool's allotment becomes the new plan's full allotment minus what was already spent from the
    allotment this window (so an upgrade never re-grants spent credits, and a downgrade keeps no more than the
    new plan gives). Top-ups are kept, except that a move from a pooled plan to a per-member plan forfeits the
    pool (top-ups included); a move the other way brings members' top-ups into the new pool.
    """
    credits_cycle_reset(org=org, actor=actor)
    at = clock.now(org=org)
    with transaction.atomic():
        subscription = Subscription.objects.select_related("plan").get(org=org)
        window = window_for(org, subscription, at)
        _window_locked(org, window, at)
        entitlements = entitlements_for(plan=subscription.plan, org=org)
        usage_limits_refresh(org=org, window=window, entitlements=entitlements)
        active = _active_member_ids(org)
        _pools_roll(org, subscription, entitlements, window, at, actor, active, active)
        pools = _pools_locked(org)
        org_pool = next((pool for pool in pools if pool.member_id is None), None)
        moved_topups = 0
        for pool in pools:
            full = _allotment(entitlements, subscription, pool, active)
            entries = _reseed(pool, full=full, at=at, actor=actor, reason=reason)
            if pool is org_pool and not entitlements.pooled_credits:
                entries += _forfeit(
                    pool, at=at, actor=actor, reason=f"{reason}: pooled credits end with the pool."
                )
            elif pool is not org_pool and entitlements.pooled_credits and pool.topup_balance:
                moved_topups += pool.topup_balance
                entries.append(
                    ledger_post(
                        pool,
                        kind=EntryKind.TRANSFER,
                        at=at,
                        topup=-pool.topup_balance,
                        actor_label=actor.label,
                        reason=f"{reason}: top-ups move to the pool.",
                    )
                )
            alerts_after_grant(pool, threshold_pct=org.credit_alert_threshold_pct, at=at)
            pool_save(pool, entries)
        if org_pool is not None and moved_topups:
            entry = ledger_post(
                org_pool,
                kind=EntryKind.TRANSFER,
                at=at,
                topup=moved_topups,
                actor_label=actor.label,
                reason=f"{reason}: members' top-ups moved into the pool.",
            )
            org_pool.cycle_grant += moved_topups
            pool_save(org_pool, [entry])
        audit_record(
            org=org,
            actor=actor,
            action="credits.reseeded",
            after={"plan": subscription.plan.code},
            reason=reason,
        )
