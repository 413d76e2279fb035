from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing_portal.core.models import TestClock


class AppendOnlyAdmin(admin.ModelAdmin):
    """Ledgers and trails: visible, never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TestClock)
class TestClockAdmin(admin.ModelAdmin):
    list_display = ["name", "frozen_time", "created_at"]
    search_fields = ["name", "orgs__slug"]
    readonly_fields = ["frozen_time", "created_at"]
