from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Invitation, Membership, Organization, Space, User
from billing_portal.core.admin import ReadOnlyInline


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})]


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ["user", "role", "billing_read", "joined_at", "removed_at"]
    readonly_fields = fields
    ordering = ["removed_at", "joined_at"]


class InvitationInline(ReadOnlyInline):
    model = Invitation
    fields = ["email", "role", "status", "created_at", "expires_at"]
    readonly_fields = fields


class SpaceInline(ReadOnlyInline):
    model = Space
    fields = ["name", "slug", "read_only", "created_at"]
    readonly_fields = fields


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "billing_email", "country", "currency", "created_at"]
    list_filter = ["currency", "country"]
    search_fields = ["name", "slug", "billing_email", "memberships__user__email", "tax_id"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "closure_requested_at", "purged_at"]
    raw_id_fields = ["test_clock"]
    inlines = [MembershipInline, InvitationInline, SpaceInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role", "billing_read", "joined_at", "removed_at"]
    list_filter = ["role", "billing_read"]
    search_fields = ["user__email", "org__name", "org__slug"]
    list_select_related = ["user", "org"]
    readonly_fields = ["org", "user", "role", "joined_at", "removed_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "org", "role", "status", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "org__name", "org__slug"]
    list_select_related = ["org"]
    readonly_fields = ["org", "email", "role", "token_hash", "status", "invited_by", "created_at", "expires_at", "responded_at"]


@admin.register(Space)
class SpaceAdmin(admin.ModelAdmin):
    list_display = ["name", "org", "slug", "read_only", "created_at"]
    list_filter = ["read_only"]
    search_fields = ["name", "slug", "org__slug"]
    list_select_related = ["org"]
