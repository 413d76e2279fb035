"""Low-balance and refilled alerts: one row per pool, kind and window (a unique key), emailed after commit."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction

from billing_portal.core.queueing import enqueue_on_commit
from metering.models import CreditAlert, CreditPool
from metering.services.rules import below_threshold


def _threshold(pool: CreditPool, threshold_pct: int) -> int:
    return pool.cycle_grant * threshold_pct // 100


def _raise(pool: CreditPool, *, kind: str, window_start: datetime, threshold_pct: int, at: datetime) -> None:
    from metering.tasks import credit_alert_email

    try:
        with transaction.atomic():
            alert = CreditAlert.objects.create(
                org_id=pool.org_id,
                pool=pool,
                kind=kind,
                window_start=window_start,
                balance=pool.balance,
                threshold=_threshold(pool, threshold_pct),
                created_at=at,
            )
    except IntegrityError:
        return  # already raised for this window
    enqueue_on_commit(credit_alert_email, alert.pk)


def alerts_after_debit(pool: CreditPool, *, threshold_pct: int, at: datetime) -> None:
    """Raise the low alert the first time this window the pool is below its threshold. Caller saves it."""
    if pool.low_alert_sent_for == pool.window_start:
        return
    if below_threshold(balance=pool.balance, cycle_grant=pool.cycle_grant, threshold_pct=threshold_pct):
        _raise(
            pool,
            kind=CreditAlert.Kind.LOW,
            window_start=pool.window_start,
            threshold_pct=threshold_pct,
            at=at,
        )
        pool.low_alert_sent_for = pool.window_start
        pool.low_alert_open = True


def alerts_after_grant(pool: CreditPool, *, threshold_pct: int, at: datetime) -> None:
    """After a refill or top-up lifts a low pool above its threshold, say so once. Caller saves the pool."""
    if not pool.low_alert_open or pool.low_alert_sent_for is None:
        return
    if not below_threshold(balance=pool.balance, cycle_grant=pool.cycle_grant, threshold_pct=threshold_pct):
        _raise(
            pool,
            kind=CreditAlert.Kind.REFILLED,
            window_start=pool.low_alert_sent_for,
            threshold_pct=threshold_pct,
            at=at,
        )
        pool.low_alert_open = False
