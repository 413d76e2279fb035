from django.contrib import admin
from django.http import HttpRequest

from billing_portal.core.admin.base import AppendOnlyAdmin, AuditedChangesAdmin, ReadOnlyInline, money_column
from billing_portal.core.admin.operations import (
    Operation,
    OperationForm,
    OperationsAdmin,
    Preview,
    Shown,
    money_input,
)
from billing_portal.core.models import TestClock

__all__ = [
    "AppendOnlyAdmin",
    "AuditedChangesAdmin",
    "Operation",
    "OperationForm",
    "OperationsAdmin",
    "Preview",
    "ReadOnlyInline",
    "Shown",
    "money_column",
    "money_input",
]


@admin.register(TestClock)
class TestClockAdmin(admin.ModelAdmin):
    """Clocks move only forward, through an org's "Advance test clock" operation (it runs what became due)."""

    list_display = ["name", "frozen_time", "created_at"]
    search_fields = ["name", "orgs__slug"]
    readonly_fields = ["frozen_time", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a clock comes with its org (create_org --test-clock), frozen at a chosen instant
