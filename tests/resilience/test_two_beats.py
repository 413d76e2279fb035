"""Two beats at once (two `billing_tick` processes released onto the same due orgs at the same moment): each
billing job still runs once per org and period."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest
from django.db import transaction

from billing_portal.core.models import TestClock
from billing_portal.subscriptions.models import JobRun, Subscription
from metering.services import credits_cycle_reset
from tests.celery_worker import wait_for
from tests.factories import TEST_ACTOR, make_org
from tests.resilience.books import (
    assert_invoice_numbers_gap_free,
    assert_one_allotment_per_pool_and_window,
    assert_renewed_once,
)
from tests.resilience.processes import app_env, sessions_waiting_for_locks, started

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
JAN10 = datetime(2026, 1, 10, tzinfo=UTC)
APR10 = datetime(2026, 4, 10, tzinfo=UTC)
PERIODS = 3  # February, March and April renew; the credit window moves from January straight to April


def test_two_billing_ticks_at_once_do_each_job_once_per_org_and_period(tmp_path):
    orgs = [make_org(name=f"Org {n}", plan="pro", clock_at=JAN10) for n in range(6)]
    for org in orgs:
        credits_cycle_reset(org=org, actor=TEST_ACTOR)
    TestClock.objects.update(frozen_time=APR10)
    env = app_env(tmp_path, CONN_MAX_AGE="0")
    command = [sys.executable, "manage.py", "billing_tick"]
    logs = [tmp_path / f"beat-{n}.log" for n in range(2)]
    with started(command, env, logs[0]) as first, started(command, env, logs[1]) as second:
        with transaction.atomic():
            # Both beats stop at the first org's renewal until both are there; leaving the block lets both go.
            Subscription.objects.select_for_update().get(org=orgs[0])
            assert wait_for(lambda: sessions_waiting_for_locks() == 2, timeout=60), [log.read_text() for log in logs]
        assert (first.wait(timeout=120), second.wait(timeout=120)) == (0, 0), [log.read_text() for log in logs]
    processed = {"renewal": 0, "cycle_reset": 0}
    for log in logs:
        [summary] = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        for run in summary["runs"]:
            assert run["failed"] == 0, run
            if run["job"] in processed:
                processed[run["job"]] += run["processed"]
    # Between them the two beats did each org's work once per period; neither did any of it twice.
    assert processed == {"renewal": len(orgs) * PERIODS, "cycle_reset": len(orgs)}
    assert JobRun.objects.filter(job="renewal").count() == len(orgs) * PERIODS
    assert_renewed_once(orgs, periods=PERIODS)
    assert_one_allotment_per_pool_and_window(orgs, windows=2)
    assert_invoice_numbers_gap_free()
