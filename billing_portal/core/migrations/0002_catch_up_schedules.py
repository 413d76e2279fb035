"""Beat schedules for the catch-up jobs (billing_portal.subscriptions.jobs): work queued to Celery that never ran
(the broker was down, or a task gave up) is found again in the database and done. Staff can edit them in admin."""

import json

from django.db import migrations

TASK = "billing_portal.subscriptions.tasks.run_billing_job"
CATCH_UP_JOBS = ["invoice_pdfs", "credit_alert_emails"]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    for name in CATCH_UP_JOBS:
        PeriodicTask.objects.update_or_create(
            name=f"catch-up: {name}",
            defaults={"task": TASK, "args": json.dumps([name]), "enabled": True, "interval": five},
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[f"catch-up: {name}" for name in CATCH_UP_JOBS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
