"""Redis (broker and cache) unreachable: usage ingestion, quota checks and pages keep working; the work they
queue is not lost but picked up by the catch-up jobs beat runs; the broker error is logged once, not per request.

gunicorn reaches Redis through a TCP proxy that the test cuts and restores; the real server is never touched."""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.utils.crypto import get_random_string

from bench import soak
from billing_portal.core.queueing import RETRY_AFTER_SECONDS
from billing_portal.subscriptions.jobs import run_job
from invoices.models import Invoice, InvoiceKind
from metering.models import CreditAlert
from tests.resilience.processes import app_env, gunicorn
from tests.resilience.tcp_proxy import tcp_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
BROKER_DOWN = "Celery broker unreachable"
CACHE_DOWN = "Exception ignored"  # django-redis carries on without the cache and logs this


def test_with_redis_down_requests_keep_working_and_queued_work_is_caught_up_later(tmp_path):
    (team, free), cookie = soak.seed()
    redis = urlparse(os.environ["REDIS_URL"])
    csrf = get_random_string(32)
    owner = {"Cookie": f"sessionid={cookie}; csrftoken={csrf}", "X-CSRFToken": csrf}
    log = tmp_path / "gunicorn.log"
    with tcp_proxy(redis.hostname or "127.0.0.1", redis.port or 6379) as proxy:
        redis_url = f"redis://127.0.0.1:{proxy.port}{redis.path}"
        env = app_env(tmp_path, redis_url=redis_url, CELERY_TASK_DEFAULT_QUEUE=f"resilience-{uuid.uuid4().hex[:8]}")
        with gunicorn(env, log, workers=1, threads=4) as server:

            def call(method: str, path: str, org: soak.Org | None = None, **kwargs: object) -> tuple[int, float]:
                headers = {"Authorization": f"Bearer {org.api_key}"} if org else owner
                started = time.monotonic()
                status, _ = soak.http_call(server.url, method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
                return status, time.monotonic() - started

            assert call("GET", "/api/v2/quota/tool_calls", free)[0] == 200
            proxy.cut()
            answers = [
                # Usage events spending the Free org's 100 credits: a low-credit alert is raised (its email queued).
                *(call("POST", "/api/v2/usage/events", free, body=_event(free)) for _ in range(12)),
                *(call("GET", "/api/v2/quota/tool_calls", org) for org in (team, free) for _ in range(5)),
                *(call("GET", path) for path in soak.PAGES),
                # A page that charges a top-up: its invoice's PDF render is queued.
                call("POST", "/billing/credits/top-up/", form=_topup()),
            ]
            assert {status for status, _ in answers} <= {200, 201, 302, 403}, answers
            assert max(seconds for _, seconds in answers) < 3, answers  # nothing waits on the dead broker
            alert = CreditAlert.objects.get(org_id=free.pk)
            topup = Invoice.objects.get(org_id=team.pk, kind=InvoiceKind.TOPUP)
            assert alert.emailed_at is None and not topup.pdf  # their tasks were not queued...
            # ...and that was logged once, not per request; so was the cache's error (the cache is on Redis too).
            assert log.read_text().count(BROKER_DOWN) == 1 and log.read_text().count(CACHE_DOWN) == 1

            proxy.restore()
            time.sleep(RETRY_AFTER_SECONDS)  # sends are tried again this long after the last failure
            assert call("POST", "/billing/credits/top-up/", form=_topup())[0] == 302
            assert "Celery broker reachable again" in log.read_text()
    # Beat's next catch-up runs do what was never queued.
    assert run_job("credit_alert_emails").processed == 1
    assert [message.to for message in mail.outbox] == [[free.member]]  # the Free org's owner
    # Every finalized invoice without its PDF: the two top-ups (one not queued, one queued for no worker here)
    # and those made while seeding (the test process's broker is in memory).
    without_pdf = Invoice.objects.exclude(status="draft").filter(pdf="")
    assert without_pdf.filter(kind=InvoiceKind.TOPUP).count() == 2
    missing = without_pdf.count()
    assert run_job("invoice_pdfs").processed == missing
    assert not without_pdf.exists()
    assert run_job("credit_alert_emails").processed == run_job("invoice_pdfs").processed == 0
    CreditAlert.objects.get(pk=alert.pk, emailed_at__isnull=False)


def _event(org: soak.Org) -> dict[str, object]:
    return {"id": uuid.uuid4().hex, "meter": "tool_calls", "quantity": 10, "user": org.member,
            "integration": "web-search"}  # fmt: skip


def _topup() -> dict[str, str]:
    return {"pack": "credits-1k", "request_key": str(uuid.uuid4())}  # a new purchase form each time
