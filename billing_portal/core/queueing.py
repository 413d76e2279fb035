"""Queueing Celery work from requests and jobs so that a broker outage never fails them.

`enqueue_on_commit(task, *args)` sends the task once the current transaction commits. When the broker cannot
take it, the caller carries on: the first failure is logged (once, until a send succeeds again) and for a few
seconds no further sends are tried, since each would wait on the broker. The work is not lost: invoice PDF
renders and credit-alert emails have catch-up jobs that beat runs (billing_portal.subscriptions.jobs), which find
the same work in the database and do it. Work with no such job (the Stripe webhook follow-ups: adopting a card
collected by Checkout, copying a long invoice's lines) asks to be run in-process instead when it cannot be queued:
slower for that one webhook, never lost.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnreachable

logger = logging.getLogger(__name__)
# After a failed send, sends are skipped (left to the catch-up jobs) for this long before the broker is tried again.
RETRY_AFTER_SECONDS = 10.0

_lock = threading.Lock()
_retry_at: float | None = None  # set while the broker is known to be down


def enqueue(task: Task, *args: Any) -> bool:
    """Send `task(*args)` to the broker now; False (never an exception) when it was not queued."""
    global _retry_at
    with _lock:
        if _retry_at is not None and time.monotonic() < _retry_at:
            logger.debug("broker down: %s%r left to its catch-up job", task.name, args)
            return False
    try:
        task.delay(*args)
    except (BrokerUnreachable, OSError):
        with _lock:
            first = _retry_at is None
            _retry_at = time.monotonic() + RETRY_AFTER_SECONDS
        if first:
            logger.error(
                "Celery broker unreachable: %s%r and later tasks are left to the catch-up jobs until it is back",
                task.name, args, exc_info=True,
            )
        else:
            logger.debug("broker still down: %s%r left to its catch-up job", task.name, args)
        return False
    except Exception:  # not the broker (a bug, e.g. arguments that do not serialize): logged every time
        logger.exception("%s%r could not be queued; it is left to its catch-up job", task.name, args)
        return False
    with _lock:
        recovered, _retry_at = _retry_at is not None, None
    if recovered:
        logger.warning("Celery broker reachable again: tasks are queued as usual")
    return True


def enqueue_on_commit(task: Task, *args: Any, run_here_if_down: bool = False) -> None:
    """Send `task(*args)` after the transaction commits (at once outside one); see `enqueue`. With
    `run_here_if_down`, a task that could not be queued runs in this process (its failure logged, never raised)."""

    def send() -> None:
        if not enqueue(task, *args) and run_here_if_down:
            result = task.apply(args=args, throw=False)
            if result.failed():
                logger.error("%s%r run in-process failed: %r", task.name, args, result.result)

    transaction.on_commit(send)
