"""Loads the default plan catalog. Staff change it in admin afterwards; this never runs again."""

from django.db import migrations

METERS = [
    ("tool_calls", "Tool calls", "call", 1),
    ("ai_tokens", "AI tokens", "token", 2),
    ("api_requests", "API requests", "request", 3),
]

# Prices in US cents (EUR uses the same figures in cents; JPY has its own table below). Yearly prices are per year.
# (code, name, order, public, contact_sales, month, year, seat_month, seat_year, trial_days, credit_model,
#  allotment, per_seat, grace, members, spaces, sessions, storage_mb, features, quotas)
PLANS = [
    ("free", "Free", 0, True, False, 0, 0, 0, 0, 0, "per_member", 100, 0, 10,
     1, 1, 3, 1_024, (), {"tool_calls": 1_000, "ai_tokens": 100_000, "api_requests": 50_000}),
    ("starter", "Starter", 10, True, False, 1_900, 17_100, 0, 0, 14, "per_member", 1_000, 0, 15,
     3, 3, 10, 10_240, (), {"tool_calls": 10_000, "ai_tokens": 1_000_000, "api_requests": 500_000}),
    ("pro", "Pro", 20, True, False, 4_900, 44_100, 0, 0, 14, "per_member", 5_000, 0, 20,
     10, 10, 25, 51_200, (), {"tool_calls": 50_000, "ai_tokens": 10_000_000, "api_requests": 2_000_000}),
    ("team", "Team", 30, True, False, 4_900, 46_800, 1_200, 12_000, 14, "pooled", 8_000, 1_000, 20,
     50, 50, 50, 204_800, ("custom_limits",),
     {"tool_calls": 100_000, "ai_tokens": 50_000_000, "api_requests": 5_000_000}),
    ("business", "Business", 40, True, False, 14_900, 134_100, 0, 0, 14, "pooled", 25_000, 0, 20,
     25, 100, 100, 512_000, ("sso", "custom_limits", "priority_support"),
     {"tool_calls": 100_000, "ai_tokens": 100_000_000, "api_requests": 10_000_000}),
    ("enterprise", "Enterprise", 50, True, True, 0, 0, 0, 0, 0, "pooled", 100_000, 0, 0,
     None, None, None, None, ("sso", "scim", "custom_limits", "priority_support"),
     {"tool_calls": None, "ai_tokens": None, "api_requests": None}),
]

# (month, year, seat_month, seat_year) in yen: zero-decimal, so these are whole yen.
JPY_PRICES = {
    "free": (0, 0, 0, 0),
    "starter": (2_900, 26_100, 0, 0),
    "pro": (7_400, 66_600, 0, 0),
    "team": (7_400, 70_800, 1_800, 18_000),
    "business": (22_400, 201_600, 0, 0),
    "enterprise": (0, 0, 0, 0),
}

TAGLINES = {
    "free": "For trying things out.",
    "starter": "For individuals shipping side projects.",
    "pro": "For professionals with real workloads.",
    "team": "Pooled credits and per-seat pricing for teams.",
    "business": "Higher limits, SSO and priority support.",
    "enterprise": "Custom limits, SCIM and a contract that fits.",
}


def load(apps, schema_editor):
    Meter = apps.get_model("catalog", "Meter")
    Plan = apps.get_model("catalog", "Plan")
    PlanQuota = apps.get_model("catalog", "PlanQuota")
    PlanPrice = apps.get_model("catalog", "PlanPrice")
    meters = {
        code: Meter.objects.create(code=code, name=name, unit=unit, display_order=order)
        for code, name, unit, order in METERS
    }
    for (code, name, order, public, contact, month, year, seat_month, seat_year, trial, credit_model, allotment,
         per_seat, grace, members, spaces, sessions, storage, features, quotas) in PLANS:
        plan = Plan.objects.create(
            code=code, name=name, tagline=TAGLINES[code], display_order=order, is_public=public,
            is_contact_sales=contact, trial_days=trial, credit_model=credit_model,
            credit_allotment=allotment, credit_per_seat=per_seat, grace_pct=grace, limit_members=members,
            limit_spaces=spaces, limit_concurrent_sessions=sessions, limit_storage_mb=storage,
            feature_sso="sso" in features, feature_scim="scim" in features,
            feature_custom_limits="custom_limits" in features,
            feature_priority_support="priority_support" in features,
        )
        for currency in ("USD", "EUR"):
            PlanPrice.objects.create(plan=plan, currency=currency, price_month=month, price_year=year,
                                     seat_price_month=seat_month, seat_price_year=seat_year)
        jpy_month, jpy_year, jpy_seat_month, jpy_seat_year = JPY_PRICES[code]
        PlanPrice.objects.create(plan=plan, currency="JPY", price_month=jpy_month, price_year=jpy_year,
                                 seat_price_month=jpy_seat_month, seat_price_year=jpy_seat_year)
        for meter_code, quota in quotas.items():
            PlanQuota.objects.create(plan=plan, meter=meters[meter_code], monthly_quota=quota)


def unload(apps, schema_editor):
    apps.get_model("catalog", "PlanQuota").objects.all().delete()
    apps.get_model("catalog", "PlanPrice").objects.all().delete()
    apps.get_model("catalog", "Plan").objects.all().delete()
    apps.get_model("catalog", "Meter").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
