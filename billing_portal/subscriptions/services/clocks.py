"""Moving an org's test clock, as staff do to try a billing scenario, and running what became due."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import Organization
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core.errors import InvalidInput
from billing_portal.core.models import TestClock
from billing_portal.subscriptions.jobs import next_due_times, run_due_jobs
from billing_portal.subscriptions.models import JobExecution

LONGEST_MOVE = timedelta(days=5 * 366)


def org_clock_advance(*, org: Organization, to: datetime, actor: Actor) -> list[JobExecution]:
    """Move the clock to `to`, stopping at every moment a job falls due on the way, as Stripe's test clocks do:
    months in one move then renew, retry and date each invoice as the days passing one by one would."""
    if org.test_clock_id is None:
        raise InvalidInput(f"{org.slug} has no test clock.", code="no_test_clock")
    if to.tzinfo is None:
        raise InvalidInput("Give the time with a UTC offset.", fields={"to": ["Needs a UTC offset."]})
    with transaction.atomic():
        clock = TestClock.objects.select_for_update().get(pk=org.test_clock_id)
        if to < clock.frozen_time:
            raise InvalidInput("A test clock only moves forward.", fields={"to": ["Earlier than the clock."]})
        if to - clock.frozen_time > LONGEST_MOVE:  # every due moment on the way is a stop: bound the work
            raise InvalidInput("Move a test clock at most five years at a time.",
                               fields={"to": ["More than five years ahead."]})
        audit_record(org=org, actor=actor, action="test_clock.advanced", target=clock,
                     before={"frozen_time": clock.frozen_time}, after={"frozen_time": to})
    executions: list[JobExecution] = []
    at = clock.frozen_time
    while True:
        at = min((due for due in next_due_times(org) if at < due < to), default=to)
        TestClock.objects.filter(pk=org.test_clock_id, frozen_time__lt=at).update(frozen_time=at)
        org.refresh_from_db()
        org.test_clock.refresh_from_db()
        executions += run_due_jobs(org=org)
        if at == to:
            return executions
