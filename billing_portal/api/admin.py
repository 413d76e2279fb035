from django.contrib import admin

from billing_portal.api.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "org", "kind", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["kind"]
    search_fields = ["prefix", "name", "org__slug", "org__name"]
    list_select_related = ["org"]
    readonly_fields = ["org", "prefix", "key_hash", "kind", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
