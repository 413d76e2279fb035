"""Queueing that never fails a request, and the catch-up jobs that do what was never queued.

The Celery tasks here are real: one app's broker is a closed port (every send fails as it does while Redis is
down), the other's is in memory (sends succeed)."""

from __future__ import annotations

import logging
import time

import pytest
from celery import Celery
from django.core import mail
from django_celery_beat.models import PeriodicTask

from billing_portal.core import queueing
from billing_portal.subscriptions.jobs import CATCH_UP_JOBS, JOBS, run_due_jobs, run_job
from invoices.jobs import invoices_pdf_pending
from invoices.models import Invoice, InvoiceStatus
from invoices.pdf import invoice_pdf_open
from invoices.services import invoice_void
from metering.models import CreditAlert
from metering.services import credits_grant
from metering.tasks import credit_alerts_unsent
from tests.factories import TEST_ACTOR, issue_invoice, make_org, pdf_pages
from tests.metering.helpers import metered_org, record
from tests.resilience.processes import free_port

pytestmark = pytest.mark.django_db


def _noop(*args: object) -> None:
    return None


@pytest.fixture
def broker_down_then_up(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A task whose broker refuses connections, and one whose broker works; sends are retried after 0.3 s."""
    monkeypatch.setattr(queueing, "RETRY_AFTER_SECONDS", 0.3)
    down, up = Celery("down", broker=f"redis://127.0.0.1:{free_port()}/0"), Celery("up", broker="memory://")
    down.conf.broker_connection_retry = False
    tasks = down.task(name="resilience.down")(_noop), up.task(name="resilience.up")(_noop)
    yield tasks
    queueing.enqueue(tasks[1])  # leaves the helper as it found it: broker reachable
    down.close()
    up.close()


def test_a_broker_outage_never_raises_and_is_logged_once_until_the_broker_is_back(broker_down_then_up, caplog):
    down, up = broker_down_then_up
    caplog.set_level(logging.DEBUG, logger="billing_portal.core.queueing")
    assert queueing.enqueue(down, 1) is False
    started = time.monotonic()
    assert [queueing.enqueue(down, n) for n in range(20)] == [False] * 20
    assert time.monotonic() - started < 0.2  # not tried again for a while: no request waits on a dead broker
    time.sleep(0.35)
    assert queueing.enqueue(down, 2) is False  # tried again, still down: nothing more logged
    errors = _warnings(caplog)
    assert [r.getMessage().split(":")[0] for r in errors] == ["Celery broker unreachable"] and errors[0].exc_info
    time.sleep(0.35)
    assert queueing.enqueue(up) is True
    assert queueing.enqueue(down, 3) is False  # a new outage is logged again, once
    assert [r.getMessage().split(":")[0] for r in _warnings(caplog)] == [
        "Celery broker unreachable", "Celery broker reachable again", "Celery broker unreachable"
    ]


def test_work_with_no_catch_up_job_runs_in_process_when_the_broker_is_down(
    broker_down_then_up, caplog, django_capture_on_commit_callbacks
):
    down_app = broker_down_then_up[0].app
    ran: list[int] = []

    @down_app.task(name="resilience.follow_up")
    def follow_up(n: int) -> None:
        if n < 0:
            raise ValueError("Stripe said no")
        ran.append(n)

    with django_capture_on_commit_callbacks(execute=True):
        queueing.enqueue_on_commit(follow_up, 7, run_here_if_down=True)
        queueing.enqueue_on_commit(follow_up, 8)  # without the flag it is left to a catch-up job
        assert ran == []  # nothing before the commit
    assert ran == [7]
    with django_capture_on_commit_callbacks(execute=True):
        queueing.enqueue_on_commit(follow_up, -1, run_here_if_down=True)  # fails: logged, the commit stands
    assert ran == [7]
    assert any("run in-process failed" in r.getMessage() and "Stripe said no" in r.getMessage() for r in caplog.records)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == queueing.logger.name and r.levelno >= logging.WARNING]


def test_the_pdf_catch_up_renders_invoices_never_rendered_and_those_changed_since(django_capture_on_commit_callbacks):
    org = make_org(plan="pro")  # its first invoice's render was queued to the in-memory broker: never run
    with django_capture_on_commit_callbacks(execute=True):  # queued, as after any commit; still not run
        invoice = issue_invoice(org)
    pending = set(invoices_pdf_pending().values_list("pk", flat=True))
    assert invoice.pk in pending and len(pending) == Invoice.objects.exclude(status=InvoiceStatus.DRAFT).count()
    assert run_job("invoice_pdfs").processed == len(pending)
    assert all(Invoice.objects.exclude(status=InvoiceStatus.DRAFT).values_list("pdf", flat=True))
    assert run_job("invoice_pdfs").processed == 0  # nothing left: the job converges
    invoice_void(invoice=invoice, actor=TEST_ACTOR, reason="Issued twice")  # the stored PDF says OPEN now
    assert list(invoices_pdf_pending()) == [invoice]
    assert run_job("invoice_pdfs").processed == 1
    invoice.refresh_from_db()
    with invoice_pdf_open(invoice) as pdf:
        assert "VOID" in "\n".join(pdf_pages(pdf.read()))
    assert run_job("invoice_pdfs").processed == 0


def test_the_alert_catch_up_emails_each_pools_latest_unsent_alert_once():
    org = metered_org("team")  # low below 1,800 of 9,000 credits
    record(org, "tool_calls", 7_201)
    credits_grant(org=org, credits=5_000, reason="goodwill", actor=TEST_ACTOR)  # refilled: supersedes the low
    assert list(CreditAlert.objects.order_by("pk").values_list("kind", flat=True)) == ["low", "refilled"]
    assert list(credit_alerts_unsent().values_list("kind", flat=True)) == ["refilled"]
    assert run_job("credit_alert_emails").processed == 1
    assert [message.subject for message in mail.outbox] == [mail.outbox[0].subject] and "refilled" in (
        mail.outbox[0].subject.lower()
    )
    assert run_job("credit_alert_emails").processed == 0 and len(mail.outbox) == 1


def test_catch_up_jobs_have_beat_schedules_and_stay_out_of_the_billing_clock_catch_up():
    for name in CATCH_UP_JOBS:
        assert name in JOBS
        task = PeriodicTask.objects.get(name=f"catch-up: {name}")
        assert (task.task, task.args, task.enabled) == (
            "billing_portal.subscriptions.tasks.run_billing_job", f'["{name}"]', True
        )
    assert not CATCH_UP_JOBS & {execution.job for execution in run_due_jobs()}
