"""The billing jobs' beat schedules are editable in admin and show how each job last ran."""

import pytest
from django_celery_beat.models import PeriodicTask

from billing_portal.subscriptions.jobs import run_job
from billing_portal.subscriptions.models import JobExecution
from tests.admin.conftest import change_url, changelist_url, staff

pytestmark = pytest.mark.django_db


def test_each_schedule_shows_its_jobs_latest_run_and_outcome(client, login):
    run_job("renewal")
    latest = run_job("renewal")
    login(superuser=True)
    page = client.get(changelist_url(PeriodicTask)).content.decode()
    assert "billing: renewal" in page and "Last billing run" in page
    assert f"{changelist_url(JobExecution)}?job=renewal" in page and latest.outcome in page
    assert page.count("?job=renewal") == 1  # the latest run only
    runs = client.get(changelist_url(JobExecution)).content.decode()
    renewal = PeriodicTask.objects.get(name="billing: renewal")
    assert change_url(renewal) in runs and "billing: renewal" in runs


def test_staff_edit_a_schedule(client, login):
    login(superuser=True)
    renewal = PeriodicTask.objects.get(name="billing: renewal")
    response = client.post(changelist_url(PeriodicTask), {"action": "disable_tasks", "_selected_action": [renewal.pk]})
    assert response.status_code == 302
    renewal.refresh_from_db()
    assert not renewal.enabled


def test_support_sees_schedules_and_runs_but_cannot_edit_them(client):
    client.force_login(staff(group="Support"))
    renewal = PeriodicTask.objects.get(name="billing: renewal")
    assert client.get(changelist_url(PeriodicTask)).status_code == 200
    assert (
        client.post(
            changelist_url(PeriodicTask),
            {"action": "disable_tasks", "_selected_action": [renewal.pk]},
            follow=True,
        ).status_code
        == 200
    )
    renewal.refresh_from_db()
    assert renewal.enabled
