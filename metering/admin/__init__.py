from django.contrib import admin

from billing_portal.core.admin import AppendOnlyAdmin, AuditedChangesAdmin
from metering.models import (
    CreditAlert,
    CreditEntry,
    CreditPool,
    CreditRate,
    TopupPack,
    TopupPackPrice,
    TopupPurchase,
    UsageCap,
    UsageCounter,
    UsageEvent,
    UsageRollup,
    UsageSession,
    UsageWindow,
)


@admin.register(CreditRate)
class CreditRateAdmin(AuditedChangesAdmin):
    list_display = ["line_item", "key", "credits", "per_units", "updated_at"]
    list_filter = ["line_item"]
    search_fields = ["key"]


class TopupPackPriceInline(admin.TabularInline):
    model = TopupPackPrice
    extra = 0


@admin.register(TopupPack)
class TopupPackAdmin(AuditedChangesAdmin):
    list_display = ["name", "code", "credits", "is_active", "display_order"]
    list_editable = ["is_active", "display_order"]
    inlines = [TopupPackPriceInline]


@admin.register(CreditEntry)
class CreditEntryAdmin(AppendOnlyAdmin):
    list_display = [
        "at",
        "org",
        "member",
        "kind",
        "allotment_delta",
        "topup_delta",
        "line_item",
        "line_key",
        "reason",
    ]
    list_filter = ["kind", "line_item"]
    search_fields = ["org__slug", "reason", "idempotency_key"]
    list_select_related = ["org", "member__user", "member__org"]
    raw_id_fields = ["usage_event", "invoice", "pool"]


@admin.register(CreditPool)
class CreditPoolAdmin(AppendOnlyAdmin):
    """Balances change only through the ledger's services (staff grants and revokes are services too)."""

    list_display = [
        "org",
        "member",
        "allotment_balance",
        "topup_balance",
        "allotment_granted",
        "window_start",
    ]
    search_fields = ["org__slug"]
    list_select_related = ["org", "member__user", "member__org"]


@admin.register(UsageEvent)
class UsageEventAdmin(AppendOnlyAdmin):
    list_display = [
        "occurred_at",
        "org",
        "meter",
        "quantity",
        "member",
        "space",
        "success",
        "test_mode",
        "counted",
        "credits",
    ]
    list_filter = ["meter", "success", "test_mode", "counted"]
    search_fields = ["org__slug", "key", "model", "agent", "integration"]
    list_select_related = ["org", "member__user", "member__org", "space__org"]
    raw_id_fields = ["member", "space", "api_key"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # the table is large: no COUNT(*) per page


@admin.register(UsageRollup)
class UsageRollupAdmin(AppendOnlyAdmin):
    list_display = [
        "day",
        "org",
        "meter",
        "member",
        "space",
        "model",
        "agent",
        "integration",
        "line_item",
        "events",
        "failed_events",
        "quantity",
        "credits",
    ]
    list_filter = ["meter", "line_item"]
    search_fields = ["org__slug"]
    list_select_related = ["org", "member__user", "member__org", "space__org"]


@admin.register(UsageCounter)
class UsageCounterAdmin(AppendOnlyAdmin):
    list_display = ["org", "meter", "subject", "window_start", "used", "quota", "hard_limit"]
    search_fields = ["org__slug"]
    list_select_related = ["org"]


@admin.register(UsageCap)
class UsageCapAdmin(AppendOnlyAdmin):
    """Caps are set through cap_set (owners and admins), which also applies them to the counters."""

    list_display = ["org", "meter", "member", "space", "limit", "set_by", "updated_at"]
    list_select_related = ["org", "member__user", "member__org", "space__org", "set_by"]


@admin.register(UsageSession)
class UsageSessionAdmin(AppendOnlyAdmin):
    list_display = ["id", "org", "test_mode", "started_at", "expires_at", "ended_at"]
    list_select_related = ["org"]


@admin.register(UsageWindow)
class UsageWindowAdmin(AppendOnlyAdmin):
    list_display = ["org", "window_start", "window_end", "reset_at"]
    list_select_related = ["org"]


@admin.register(TopupPurchase)
class TopupPurchaseAdmin(AppendOnlyAdmin):
    list_display = ["created_at", "org", "pack", "credits", "invoice", "bought_by"]
    list_select_related = ["org", "pack", "invoice", "bought_by"]


@admin.register(CreditAlert)
class CreditAlertAdmin(AppendOnlyAdmin):
    list_display = ["created_at", "org", "pool", "kind", "balance", "threshold", "emailed_at"]
    list_filter = ["kind"]
    list_select_related = ["org", "pool"]
