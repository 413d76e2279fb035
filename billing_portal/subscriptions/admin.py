from django.contrib import admin

from billing_portal.core.admin import AppendOnlyAdmin
from billing_portal.subscriptions.models import JobRun, SeatChange, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["org", "plan", "interval", "status", "seat_quantity", "current_period_end", "trial_end", "cancel_at_period_end"]
    list_filter = ["status", "plan", "interval", "cancel_at_period_end"]
    search_fields = ["org__name", "org__slug", "stripe_subscription_id"]
    list_select_related = ["org", "plan"]
    readonly_fields = [f.name for f in Subscription._meta.fields]


@admin.register(SeatChange)
class SeatChangeAdmin(AppendOnlyAdmin):
    list_display = ["subscription", "effective_at", "previous_quantity", "quantity", "reason"]
    search_fields = ["subscription__org__slug", "reason", "idempotency_key"]
    list_select_related = ["subscription__org"]


@admin.register(JobRun)
class JobRunAdmin(AppendOnlyAdmin):
    list_display = ["job", "org", "period_key", "ran_at", "outcome"]
    list_filter = ["job"]
    search_fields = ["org__slug", "period_key"]
    list_select_related = ["org"]
