from django.contrib import admin

from billing_portal.catalog.models import Meter, Plan, PlanPrice, PlanQuota, QuotaOverride
from billing_portal.core.admin import AppendOnlyAdmin, AuditedChangesAdmin


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    extra = 0


class PlanQuotaInline(admin.TabularInline):
    model = PlanQuota
    extra = 0


@admin.register(Plan)
class PlanAdmin(AuditedChangesAdmin):
    """The catalog: a price or quota change applies to every org on the plan; each saved change is audited."""

    list_display = [
        "name", "code", "display_order", "is_public", "is_contact_sales", "is_signup_trial", "trial_days",
        "credit_model", "grace_pct", "limit_members",
    ]
    list_editable = ["display_order"]
    list_filter = ["is_public", "is_contact_sales", "credit_model"]
    search_fields = ["code", "name"]
    inlines = [PlanPriceInline, PlanQuotaInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "tagline", "display_order", "is_public", "is_contact_sales",
                           "is_signup_trial", "trial_days"]}),
        ("Credits", {"fields": ["credit_model", "credit_allotment", "credit_per_seat"]}),
        ("Quotas and limits", {"fields": ["grace_pct", "limit_members", "limit_spaces", "limit_concurrent_sessions",
                                          "limit_storage_mb"]}),
        ("Features", {"fields": ["feature_sso", "feature_scim", "feature_custom_limits", "feature_priority_support"]}),
    ]


@admin.register(Meter)
class MeterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit", "display_order"]
    search_fields = ["code", "name"]


@admin.register(QuotaOverride)
class QuotaOverrideAdmin(AppendOnlyAdmin):
    """Set through an organization's "Assign Enterprise" operation, which audits them."""

    list_display = ["org", "meter", "monthly_quota"]
    search_fields = ["org__slug", "org__name"]
    list_filter = ["meter"]
    list_select_related = ["org", "meter"]
