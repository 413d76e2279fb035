"""The billing jobs beat runs: each selects its due rows on every org's own clock and handles them one by one.

Every per-row function is idempotent (it re-checks and claims a JobRun key under a lock), so a job can run
twice, or from two beats at once, without doing anything twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organization
from billing_portal.audit.services import Actor
from billing_portal.core import clock
from billing_portal.subscriptions.models import JobExecution, Status, Subscription
from billing_portal.subscriptions.services.closure import PURGE_AFTER, org_purge
from billing_portal.subscriptions.services.dunning import invoice_retry_payment
from billing_portal.subscriptions.services.renewal import (
    subscription_end_trial,
    subscription_renew,
    subscription_trial_will_end_notify,
)
from invoices.jobs import invoice_pdf_catch_up, invoices_pdf_pending
from invoices.models import Invoice, InvoiceStatus
from metering.models import UsageWindow
from metering.selectors import orgs_due_for_cycle_reset
from metering.services import credits_cycle_reset
from metering.tasks import credit_alert_email, credit_alerts_unsent

if TYPE_CHECKING:
    from django.db.models import Model

logger = logging.getLogger(__name__)
TRIAL_WARNING_LEAD = timedelta(days=3)
IDLE_OUTCOMES = {"not due", "already done", "already sent", "not trialing", "not renewing", "not closing"}


@dataclass(frozen=True)
class Job:
    name: str
    due: Callable[[], QuerySet[Model]]  # rows whose work is due now, on their orgs' clocks
    org_path: str  # from a due row to its org, to run one org's jobs
    run_one: Callable[[int, Actor], str]


def _trials_warning() -> QuerySet[Subscription]:
    return Subscription.objects.filter(clock.due_q("trial_end", lead=TRIAL_WARNING_LEAD), status=Status.TRIALING)


def _locally_billed() -> QuerySet[Subscription]:
    """Subscriptions the portal bills itself; Stripe renews, converts and dunns the ones it bills."""
    return Subscription.objects.filter(stripe_subscription_id="")


def _trials_ending() -> QuerySet[Subscription]:
    return _locally_billed().filter(clock.due_q("trial_end"), status=Status.TRIALING)


def _renewals() -> QuerySet[Subscription]:
    return _locally_billed().filter(clock.due_q("current_period_end"), status__in=[Status.ACTIVE, Status.PAST_DUE])


def _payment_retries() -> QuerySet[Invoice]:
    return Invoice.objects.filter(clock.due_q("next_payment_attempt_at"), status=InvoiceStatus.PAST_DUE)


def _cycle_reset(org_id: int, actor: Actor) -> str:
    org = Organization.objects.select_related("test_clock").get(pk=org_id)
    return "reset" if credits_cycle_reset(org=org, actor=actor) else "already done"


def _purges() -> QuerySet[Organization]:
    return Organization.objects.filter(
        clock.due_q("closure_requested_at", org_path="", lead=-PURGE_AFTER), purged_at__isnull=True
    )


# In dependency order: a trial ends before its first renewal, a renewal (which may change the plan) before the
# credit window rolls over, and a renewal before its payment retries.
JOBS: dict[str, Job] = {
    job.name: job
    for job in [
        Job("trial_will_end", _trials_warning, "org",
            lambda pk, actor: subscription_trial_will_end_notify(subscription_id=pk, actor=actor)),
        Job("trial_expiry", _trials_ending, "org",
            lambda pk, actor: subscription_end_trial(subscription_id=pk, actor=actor)),
        Job("renewal", _renewals, "org", lambda pk, actor: subscription_renew(subscription_id=pk, actor=actor)),
        Job("cycle_reset", lambda: orgs_due_for_cycle_reset(), "", _cycle_reset),
        Job("payment_retry", _payment_retries, "org",
            lambda pk, actor: invoice_retry_payment(invoice_id=pk, actor=actor)),
        Job("closure_purge", _purges, "", lambda pk, actor: org_purge(org_id=pk, actor=actor)),
        # Catch-up jobs: work queued to Celery that never ran (the broker was down, or a task gave up), found
        # again in the database. Not billing periods: beat runs them on real time, run_due_jobs does not.
        Job("invoice_pdfs", invoices_pdf_pending, "org",
            lambda pk, actor: invoice_pdf_catch_up(invoice_id=pk, actor=actor)),
        Job("credit_alert_emails", credit_alerts_unsent, "org",
            lambda pk, actor: "sent" if credit_alert_email(pk) else "already sent"),
    ]
}
CATCH_UP_JOBS = {"invoice_pdfs", "credit_alert_emails"}


def next_due_times(org: Organization) -> list[datetime]:
    """The moments the org's period jobs fall due (trial warning and end, renewal, credit window end, payment
    retries, purge), read loosely: a moment when nothing turns out due only costs a round of idle jobs."""
    subscription = Subscription.objects.filter(org=org).values("trial_end", "current_period_end").first() or {}
    trial_end = subscription.get("trial_end")
    times = [
        trial_end - TRIAL_WARNING_LEAD if trial_end else None,
        trial_end,
        subscription.get("current_period_end"),
        UsageWindow.objects.filter(org=org).values_list("window_end", flat=True).first(),
        org.closure_requested_at + PURGE_AFTER if org.closure_requested_at else None,
        *Invoice.objects.filter(org=org, status=InvoiceStatus.PAST_DUE).values_list("next_payment_attempt_at",
                                                                                      flat=True),
    ]
    return [time for time in times if time is not None]


def run_job(name: str, *, org: Organization | None = None) -> JobExecution:
    """Run one job over its due rows (only `org`'s when given); a failing row is logged and counted, not fatal."""
    job = JOBS[name]
    actor = Actor.system(name)
    execution = JobExecution.objects.create(job=name, started_at=timezone.now())
    due = job.due()
    if org is not None:
        due = due.filter(**{job.org_path or "pk": org.pk})
    outcomes: Counter[str] = Counter()
    for pk in due.values_list("pk", flat=True).iterator():
        try:
            outcomes[job.run_one(pk, actor)] += 1
        except Exception:
            logger.exception("billing job %s failed for row %s", name, pk)
            outcomes["error"] += 1
    execution.finished_at = timezone.now()
    execution.failed = outcomes.pop("error", 0)
    execution.processed = sum(count for outcome, count in outcomes.items() if outcome not in IDLE_OUTCOMES)
    execution.outcome = ", ".join(f"{outcome}: {count}" for outcome, count in sorted(outcomes.items())) or "nothing due"
    execution.save()
    return execution


def run_due_jobs(*, org: Organization | None = None, max_rounds: int = 60) -> list[JobExecution]:
    """Every job until nothing is left to do: a clock moved months ahead catches up one period at a time."""
    executions: list[JobExecution] = []
    for _ in range(max_rounds):
        round_ = [run_job(name, org=org) for name in JOBS if name not in CATCH_UP_JOBS]
        executions += round_
        if not any(execution.processed for execution in round_):
            break
    return executions
