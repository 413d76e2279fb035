"""Invoices keep the seller's details as at finalization. Those finalized before this migration get the details
configured when it runs: the closest record there is of what they were printed with."""

from django.conf import settings
from django.db import migrations, models


def snapshot_finalized(apps, schema_editor):
    Invoice = apps.get_model("invoices", "Invoice")
    Invoice.objects.exclude(status="draft").update(seller=dict(settings.BILLING_SELLER))


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0004_staff_permissions_and_refund_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="seller",
            field=models.JSONField(blank=True, default=dict, help_text="Name, address, tax ID and email of the seller."),
        ),
        migrations.RunPython(snapshot_finalized, migrations.RunPython.noop),
    ]
