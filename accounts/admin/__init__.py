"""People and organizations. Memberships, invitations and spaces change only through the portal's services;
staff access (users' staff flags, groups and permissions, and the groups' permissions) is audited."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group

from accounts.admin.organizations import OrganizationAdmin
from accounts.models import Invitation, Membership, Space, User
from billing_portal.core.admin import AppendOnlyAdmin, AuditedChangesAdmin

__all__ = ["OrganizationAdmin"]


@admin.register(User)
class UserAdmin(AuditedChangesAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})
    ]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedChangesAdmin, DjangoGroupAdmin):
    """Staff roles (Support, Finance): which permissions each holds."""


@admin.register(Membership)
class MembershipAdmin(AppendOnlyAdmin):
    list_display = ["user", "org", "role", "billing_read", "joined_at", "removed_at"]
    list_filter = ["role", "billing_read", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "org__name", "org__slug"]
    list_select_related = ["user", "org"]


@admin.register(Invitation)
class InvitationAdmin(AppendOnlyAdmin):
    list_display = ["email", "org", "role", "status", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "org__name", "org__slug"]
    list_select_related = ["org"]
    exclude = ["token_hash"]


@admin.register(Space)
class SpaceAdmin(AppendOnlyAdmin):
    list_display = ["name", "org", "slug", "read_only", "created_at"]
    list_filter = ["read_only"]
    search_fields = ["name", "slug", "org__slug"]
    list_select_related = ["org"]
