"""Loads the default credit rate table and top-up packs. Staff change both in admin afterwards."""

from django.db import migrations

# (line item, key, credits, per units). "*" prices what has no row of its own.
RATES = [
    ("llm", "*", 2, 1_000),
    ("llm", "gpt-4o", 5, 1_000),
    ("llm", "gpt-4o-mini", 1, 1_000),
    ("llm", "claude-sonnet", 6, 1_000),
    ("llm", "claude-haiku", 1, 1_000),
    ("tool", "*", 1, 1),
    ("tool", "web-search", 2, 1),
    ("tool", "code-interpreter", 3, 1),
    ("storage", "*", 1, 100),
]

# (code, name, credits, order, {currency: price in minor units})
PACKS = [
    ("credits-1k", "1,000 credits", 1_000, 1, {"USD": 1_000, "EUR": 1_000, "JPY": 1_500}),
    ("credits-5k", "5,000 credits", 5_000, 2, {"USD": 4_500, "EUR": 4_500, "JPY": 6_800}),
    ("credits-20k", "20,000 credits", 20_000, 3, {"USD": 16_000, "EUR": 16_000, "JPY": 24_000}),
]


def load(apps, schema_editor):
    CreditRate = apps.get_model("metering", "CreditRate")
    TopupPack = apps.get_model("metering", "TopupPack")
    TopupPackPrice = apps.get_model("metering", "TopupPackPrice")
    for line_item, key, credits, per_units in RATES:
        CreditRate.objects.create(line_item=line_item, key=key, credits=credits, per_units=per_units)
    for code, name, credits, order, prices in PACKS:
        pack = TopupPack.objects.create(code=code, name=name, credits=credits, display_order=order)
        for currency, amount in prices.items():
            TopupPackPrice.objects.create(pack=pack, currency=currency, amount=amount)


def unload(apps, schema_editor):
    apps.get_model("metering", "TopupPackPrice").objects.all().delete()
    apps.get_model("metering", "TopupPack").objects.all().delete()
    apps.get_model("metering", "CreditRate").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("metering", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
