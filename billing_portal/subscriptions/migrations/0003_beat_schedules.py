"""Beat schedules for the billing jobs, as django-celery-beat rows that staff can edit in admin."""

import json

from django.db import migrations

TASK = "billing_portal.subscriptions.tasks.run_billing_job"
EVERY_FIVE_MINUTES = ["trial_expiry", "renewal", "cycle_reset", "payment_retry"]
HOURLY = ["trial_will_end"]
DAILY_AT_3 = ["closure_purge"]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    five, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    for names, schedule in ((EVERY_FIVE_MINUTES, {"interval": five}), (HOURLY, {"interval": hour}),
                            (DAILY_AT_3, {"crontab": nightly})):
        for name in names:
            PeriodicTask.objects.update_or_create(
                name=f"billing: {name}",
                defaults={"task": TASK, "args": json.dumps([name]), "enabled": True, **schedule},
            )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_seat_proration_and_job_executions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
