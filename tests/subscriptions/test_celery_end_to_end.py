from datetime import UTC, datetime

import pytest

from billing_portal.core.models import TestClock
from invoices.models import Invoice, InvoiceKind, InvoiceStatus
from tests.celery_worker import celery_worker, wait_for
from tests.factories import make_org


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_runs_the_renewal_job():
    org = make_org(plan="pro", clock_at=datetime(2026, 1, 10, tzinfo=UTC))
    TestClock.objects.filter(pk=org.test_clock_id).update(frozen_time=datetime(2026, 2, 10, tzinfo=UTC))
    renewals = Invoice.objects.filter(org=org, kind=InvoiceKind.RENEWAL)
    with celery_worker() as (client, queue):
        client.send_task("billing_portal.subscriptions.tasks.run_billing_job", args=["renewal"], queue=queue)
        assert wait_for(lambda: renewals.filter(status=InvoiceStatus.PAID).exists()), "the worker did not renew"
        # A second delivery of the same job does nothing more.
        client.send_task("billing_portal.subscriptions.tasks.run_billing_job", args=["renewal"], queue=queue)
        client.send_task("billing_portal.subscriptions.tasks.run_billing_job", args=["payment_retry"], queue=queue)
        from billing_portal.subscriptions.models import JobExecution

        assert wait_for(lambda: JobExecution.objects.filter(job="payment_retry").exists())
    assert renewals.count() == 1
    assert renewals.get().total == 4_900
