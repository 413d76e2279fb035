"""A Celery worker SIGKILLed in the middle of a billing job: after a restart the job completes, and nothing is
granted, charged or numbered twice (late acks put the task back; every job is idempotent per org and period)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from celery import Celery
from django.db import transaction

from billing_portal.core.models import TestClock
from billing_portal.subscriptions.models import JobExecution, JobRun, Subscription
from metering.models import UsageWindow
from metering.services import credits_cycle_reset
from tests.celery_worker import wait_for
from tests.factories import TEST_ACTOR, make_org
from tests.resilience.books import (
    assert_invoice_numbers_gap_free,
    assert_one_allotment_per_pool_and_window,
    assert_renewed_once,
)
from tests.resilience.processes import app_env, celery_worker_command, kill, sessions_waiting_for_locks, started

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
FEB10 = datetime(2026, 2, 10, tzinfo=UTC)
TASK = "billing_portal.subscriptions.tasks.run_billing_job"
VISIBILITY_TIMEOUT = 3  # seconds before Redis hands an unacknowledged task to another worker


def _done(job: str, org) -> bool:  # type: ignore[no-untyped-def]
    if job == "renewal":
        return JobRun.objects.filter(job="renewal", org=org).exists()
    return UsageWindow.objects.filter(org=org, window_start__gte=FEB10).exists()


def _locked_row(job: str, org):  # type: ignore[no-untyped-def]
    """The row the job locks first for this org: the worker waits on it while the test holds it."""
    rows = Subscription.objects if job == "renewal" else UsageWindow.objects
    return rows.select_for_update().get(org=org)


def _finished_runs(job: str) -> int:
    return JobExecution.objects.filter(job=job, finished_at__isnull=False).count()


@pytest.mark.parametrize("job", ["renewal", "cycle_reset"])
def test_a_worker_killed_mid_job_finishes_it_after_a_restart_without_doing_anything_twice(job, tmp_path):
    orgs = [make_org(name=f"Org {n}", plan="pro", clock_at=JAN10) for n in range(3)]
    for org in orgs:
        credits_cycle_reset(org=org, actor=TEST_ACTOR)  # January's window, granted at sign-up time
    TestClock.objects.update(frozen_time=FEB10)
    queue = f"resilience-{uuid.uuid4().hex[:8]}"
    env = app_env(tmp_path, redis_url=os.environ["REDIS_URL"], CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
                  CONN_MAX_AGE="0")  # fmt: skip
    log = tmp_path / "workers.log"
    client = Celery(broker=os.environ["REDIS_URL"])
    try:
        with started(celery_worker_command(queue), env, log) as first, transaction.atomic():
            _locked_row(job, orgs[1])
            client.send_task(TASK, args=[job], queue=queue)
            assert wait_for(lambda: _done(job, orgs[0]) and sessions_waiting_for_locks() == 1, timeout=60), (
                log.read_text()
            )
            kill(first)  # mid-job: the first org is done, the second is waiting for our lock
            assert not _done(job, orgs[1]) and not _done(job, orgs[2])
        # Our lock is released: the killed worker's database session ends without committing anything.
        with started(celery_worker_command(queue), env, log):
            assert wait_for(lambda: all(_done(job, org) for org in orgs), timeout=60), log.read_text()
            client.send_task(TASK, args=[job], queue=queue)  # another delivery changes nothing
            client.send_task(TASK, args=["payment_retry"], queue=queue)
            assert wait_for(lambda: _finished_runs("payment_retry") == 1, timeout=60)  # queued after the other
    finally:
        client.close()
    assert _finished_runs(job) == 2  # the redelivered task and the extra one; the killed run never finished
    assert_invoice_numbers_gap_free()
    if job == "renewal":
        assert_renewed_once(orgs)
    else:
        assert_one_allotment_per_pool_and_window(orgs, windows=2)
