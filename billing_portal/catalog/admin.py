from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from billing_portal.catalog.models import Meter, Plan, PlanPrice, PlanQuota, QuotaOverride
from billing_portal.core.admin import AppendOnlyAdmin, AuditedChangesAdmin
from billing_portal.subscriptions.models import Subscription


class PlanPriceFormSet(BaseInlineFormSet):
    """A price orgs are billed in stays: without it their renewals and pages could not price the plan."""

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            dropped = form in self.deleted_forms or "currency" in form.changed_data
            currency = form.initial.get("currency")
            if not (dropped and currency and self.instance.pk):
                continue
            billed = Subscription.objects.filter(
                Q(plan=self.instance) | Q(scheduled_plan=self.instance), currency=currency
            ).count()
            if billed:
                raise ValidationError(
                    f"{billed} subscription{'s are' if billed != 1 else ' is'} billed for {self.instance.name} "
                    f"in {currency}: its {currency} price can be changed, not removed."
                )


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    formset = PlanPriceFormSet
    extra = 0


class PlanQuotaInline(admin.TabularInline):
    model = PlanQuota
    extra = 0


class CodedCatalogAdmin(AuditedChangesAdmin):
    """Plans and meters: the code names them to the code, the API (tiers, meters), usage rows and Stripe (lookup
    keys), so it is fixed once the row exists."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*super().get_readonly_fields(request, obj), *(["code"] if obj is not None else [])]


@admin.register(Plan)
class PlanAdmin(CodedCatalogAdmin):
    """The catalog; each saved change is audited. A change applies to the orgs on the plan from their next cycle:
    prices at the next renewal, quotas, grace and allotments when the next usage window opens."""

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
class MeterAdmin(CodedCatalogAdmin):
    list_display = ["code", "name", "unit", "display_order"]
    search_fields = ["code", "name"]


@admin.register(QuotaOverride)
class QuotaOverrideAdmin(AppendOnlyAdmin):
    """Set through an organization's "Assign Enterprise" operation, which audits them."""

    list_display = ["org", "meter", "monthly_quota"]
    search_fields = ["org__slug", "org__name"]
    list_filter = ["meter"]
    list_select_related = ["org", "meter"]
