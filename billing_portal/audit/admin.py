from django.contrib import admin

from billing_portal.audit.models import AuditEntry
from billing_portal.core.admin import AppendOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(AppendOnlyAdmin):
    list_display = ["at", "org_label", "action", "actor_kind", "actor_label", "target_type", "target_id", "request_id"]
    list_filter = ["actor_kind", "action"]
    search_fields = ["org_label", "action", "actor_label", "target_id", "request_id", "reason"]
    date_hierarchy = "at"
    list_select_related = ["org"]
