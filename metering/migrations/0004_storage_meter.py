"""The storage meter: products report what they store once a day, in MB-days, priced by the `storage` credit rate.
No plan sets a quota on it (the plan's storage limit is the most a product keeps, which it enforces itself);
caps may. Windows already open get its counter, as new windows do."""

from django.db import migrations

METER = {"code": "storage", "name": "Storage", "unit": "MB-day", "display_order": 4}


def add(apps, schema_editor):
    Meter = apps.get_model("catalog", "Meter")
    UsageCounter = apps.get_model("metering", "UsageCounter")
    Meter.objects.update_or_create(code=METER["code"], defaults=METER)
    open_windows = UsageCounter.objects.filter(subject="org").values_list("org_id", "window_start").distinct()
    UsageCounter.objects.bulk_create(
        [
            UsageCounter(org_id=org_id, meter=METER["code"], window_start=start, subject="org", limits_set=True)
            for org_id, start in open_windows
        ],
        ignore_conflicts=True,
    )


def remove(apps, schema_editor):
    apps.get_model("metering", "UsageCounter").objects.filter(meter=METER["code"]).delete()
    apps.get_model("catalog", "Meter").objects.filter(code=METER["code"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("metering", "0003_staff_permissions"),
        ("catalog", "0002_default_catalog"),
    ]

    operations = [migrations.RunPython(add, remove)]
