"""A starting set of tax rates by country; finance edits them in admin."""

from django.db import migrations

RATES = [("DE", "VAT", 1_900), ("FR", "VAT", 2_000), ("GB", "VAT", 2_000), ("NL", "VAT", 2_100), ("JP", "JCT", 1_000)]


def load(apps, schema_editor):
    TaxRate = apps.get_model("invoices", "TaxRate")
    for country, name, rate in RATES:
        TaxRate.objects.create(country=country, name=name, rate_bp=rate)


def unload(apps, schema_editor):
    apps.get_model("invoices", "TaxRate").objects.filter(country__in=[c for c, _, _ in RATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("invoices", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
