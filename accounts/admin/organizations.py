"""The organization page support and finance work from: everything about one customer, inline or one click
away, and the operations they run on it (each a form, then one billing service call)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from accounts.models import Invitation, InvitationStatus, Membership, Organization, Role, Space
from billing_portal.api.admin import ISSUE_KEY
from billing_portal.api.models import ApiKey
from billing_portal.audit.models import AuditEntry
from billing_portal.core import clock
from billing_portal.core.admin import AppendOnlyAdmin, OperationsAdmin, ReadOnlyInline
from billing_portal.core.money import Money
from billing_portal.payments.admin.operations import RESYNC_STRIPE
from billing_portal.payments.models import Charge, PaymentMethod, Refund
from billing_portal.subscriptions.admin import operations as subscriptions
from billing_portal.subscriptions.models import SeatChange, Status
from billing_portal.subscriptions.selectors import next_charge, status_label
from invoices.models import AccountCredit, AccountCreditEntry, Invoice
from metering.admin import operations as credits
from metering.models import CreditEntry, UsageEvent
from metering.selectors import credit_balance, quota_usage

RECENT = 10
ADMINS_SHOWN = 10


def _changelist(model: type[Any], org: Organization, *, path: str = "org", **filters: str) -> str:
    """The admin list of `model`'s rows that belong to this org (`path` leads from a row to its org)."""
    opts = model._meta
    query = "&".join(
        f"{key}={value}" for key, value in {f"{path}__id__exact": str(org.pk), **filters}.items()
    )
    return f"{reverse(f'admin:{opts.app_label}_{opts.model_name}_changelist')}?{query}"


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = ["prefix", "name", "kind", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields


class PendingInvitationInline(ReadOnlyInline):
    model = Invitation
    fields = ["email", "role", "created_at", "expires_at"]
    readonly_fields = fields
    verbose_name_plural = "pending invitations"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        return super().get_queryset(request).filter(status=InvitationStatus.PENDING)


class SpaceInline(ReadOnlyInline):
    model = Space
    fields = ["name", "slug", "read_only", "created_at"]
    readonly_fields = fields


class BillingStateFilter(admin.SimpleListFilter):
    title = "billing state"
    parameter_name = "billing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("trialing", "Trialing"),
            ("trial_ending", "Trial ends within 7 days"),
            ("past_due", "Past due"),
            ("paused", "Paused"),
            ("canceling", "Canceling at period end"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Organization]) -> QuerySet[Organization]:
        value = self.value()
        if value == "trial_ending":
            ending = clock.due_q("subscription__trial_end", org_path="", lead=timedelta(days=7))  # on its own clock
            return queryset.filter(ending, subscription__status=Status.TRIALING)
        if value == "canceling":
            return queryset.filter(subscription__cancel_at_period_end=True)
        if value in ("trialing", "past_due", "paused"):
            return queryset.filter(subscription__status=value)
        return queryset


@admin.register(Organization)
class OrganizationAdmin(OperationsAdmin, AppendOnlyAdmin):
    list_display = ["name", "slug", "owner_email", "plan", "status", "seats", "currency", "created_at"]
    list_filter = ["subscription__plan", "subscription__status", BillingStateFilter, "currency", "country"]
    search_fields = ["name", "slug", "billing_email", "memberships__user__email", "djstripe_customers__id",
                     "subscription__stripe_subscription_id", "tax_id"]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["name", "slug", "billing_email", "tax_id", "billing_address", "country",
                           "timezone", "currency", "credit_alert_threshold_pct", "test_clock", "created_at",
                           "closure_requested_at", "purged_at"]}),
        ("Subscription", {"fields": ["subscription_shown"]}),
        ("Members", {"fields": ["members_shown"]}),
        ("Credits", {"fields": ["credits_shown"]}),
        ("Usage this window", {"fields": ["usage_shown"]}),
        ("Invoices and payments", {"fields": ["invoices_shown"]}),
        ("Audit trail", {"fields": ["audit_shown"]}),
    ]  # fmt: skip
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [ApiKeyInline, PendingInvitationInline, SpaceInline]
    operations = (
        subscriptions.EXTEND_TRIAL, *credits.OPERATIONS, subscriptions.CHANGE_PLAN, subscriptions.CANCEL,
        subscriptions.RESUME, subscriptions.ASSIGN_ENTERPRISE, subscriptions.ADVANCE_CLOCK, RESYNC_STRIPE, ISSUE_KEY,
    )  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        owner = (
            Membership.objects.active().filter(org=OuterRef("pk"), role=Role.OWNER).values("user__email")[:1]
        )
        return (
            super()
            .get_queryset(request)
            .select_related("subscription__plan", "subscription__scheduled_plan", "test_clock")
            .annotate(owner_email=Subquery(owner))
        )

    @admin.display(description="owner", ordering="owner_email")
    def owner_email(self, org: Any) -> str:
        return str(org.owner_email or "")

    @admin.display(description="plan", ordering="subscription__plan__display_order")
    def plan(self, org: Organization) -> str:
        return f"{org.subscription.plan.name} ({org.subscription.interval}ly)"

    @admin.display(description="status", ordering="subscription__status")
    def status(self, org: Organization) -> str:
        return status_label(org.subscription)

    @admin.display(description="seats", ordering="subscription__seat_quantity")
    def seats(self, org: Organization) -> int:
        return org.subscription.seat_quantity

    def _panel(self, name: str, org: Organization, **context: Any) -> SafeString:
        return SafeString(
            render_to_string(f"admin/accounts/organization/{name}.html", {"org": org, **context})
        )

    @admin.display(description="")
    def subscription_shown(self, org: Organization) -> SafeString:
        subscription = org.subscription
        return self._panel(
            "subscription",
            org,
            subscription=subscription,
            status=status_label(subscription),
            next_charge=next_charge(subscription),
            seat_changes=_changelist(SeatChange, org, path="subscription__org"),
        )

    @admin.display(description="")
    def members_shown(self, org: Organization) -> SafeString:
        active = Membership.objects.active().filter(org=org)
        admins = (
            active.filter(role__in=[Role.OWNER, Role.ADMIN]).select_related("user").order_by("role", "pk")
        )
        return self._panel(
            "members",
            org,
            count=active.count(),
            admins=admins[:ADMINS_SHOWN],
            url=_changelist(Membership, org, removed_at__isempty="1"),
        )

    @admin.display(description="")
    def credits_shown(self, org: Organization) -> SafeString:
        entries = CreditEntry.objects.filter(org=org).select_related("member__user").order_by("-at", "-id")
        return self._panel(
            "credits",
            org,
            balance=credit_balance(org=org),
            entries=entries[:RECENT],
            url=_changelist(CreditEntry, org),
        )

    @admin.display(description="")
    def usage_shown(self, org: Organization) -> SafeString:
        return self._panel("usage", org, meters=quota_usage(org=org), url=_changelist(UsageEvent, org))

    @admin.display(description="")
    def invoices_shown(self, org: Organization) -> SafeString:
        invoices = Invoice.objects.filter(org=org).order_by("-created_at", "-id")[:RECENT]
        credit_entries = AccountCreditEntry.objects.filter(account__org=org).select_related("account", "invoice")
        return self._panel(
            "invoices",
            org,
            invoices=[(invoice, invoice.money("total").format()) for invoice in invoices],
            account_credits=[Money(a.balance, a.currency) for a in AccountCredit.objects.filter(org=org)],
            credit_entries=[(entry, Money(entry.amount, entry.account.currency).format(),
                             Money(entry.balance_after, entry.account.currency).format())
                            for entry in credit_entries[:RECENT]],
            url=_changelist(Invoice, org),
            links=[
                ("Payment methods", _changelist(PaymentMethod, org)),
                ("Charges", _changelist(Charge, org)),
                ("Refunds", _changelist(Refund, org)),
            ],
        )

    @admin.display(description="")
    def audit_shown(self, org: Organization) -> SafeString:
        entries = AuditEntry.objects.filter(org=org).order_by("-at", "-id")[:RECENT]
        return self._panel("audit", org, entries=entries, url=_changelist(AuditEntry, org))
