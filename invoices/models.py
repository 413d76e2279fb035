from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q

from billing_portal.core.money import CURRENCY_CHOICES, Money

if TYPE_CHECKING:
    from accounts.models import Organization


def invoice_pdf_storage() -> Storage:
    """PDFs live in private storage, served only through the permission-checked download."""
    return storages["invoice_pdfs"]


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    PAST_DUE = "past_due", "Past due"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


UNPAID_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.PAST_DUE)


class InvoiceKind(models.TextChoices):
    SUBSCRIPTION_START = "subscription_start", "First payment"
    RENEWAL = "renewal", "Renewal"
    UPGRADE = "upgrade", "Plan change"
    TOPUP = "topup", "Credit top-up"
    MANUAL = "manual", "Manual"
    STRIPE = "stripe", "Stripe"


class LineKind(models.TextChoices):
    PLAN = "plan", "Plan"
    SEATS = "seats", "Seats"
    SEAT_PRORATION = "seat_proration", "Seat change (prorated)"
    PLAN_PRORATION = "plan_proration", "Plan change (prorated)"
    USAGE_OVERAGE = "usage_overage", "Usage overage"
    CREDIT_TOPUP = "credit_topup", "Credit top-up"
    CREDITS_APPLIED = "credits_applied", "Credits applied"
    DISCOUNT = "discount", "Discount"


class TaxRate(models.Model):
    """Tax charged on invoices to orgs in a country, in basis points (1,900 = 19%)."""

    country = models.CharField(max_length=2, unique=True, help_text="ISO 3166-1 alpha-2 code.")
    name = models.CharField(max_length=40, help_text="Shown on invoices, e.g. 'VAT'.")
    rate_bp = models.PositiveIntegerField("rate (basis points)")

    class Meta:
        ordering = ["country"]

    def __str__(self) -> str:
        return f"{self.country} {self.name} {self.rate_bp / 100:g}%"

    def clean(self) -> None:
        # Orgs store their country upper-cased: "at" would never match an Austrian org, nor clash with "AT".
        self.country = self.country.strip().upper()
        if not (len(self.country) == 2 and self.country.isascii() and self.country.isalpha()):
            raise ValidationError({"country": "Two letters, e.g. AT."})


class InvoiceSequence(models.Model):
    """A gap-free counter; finalization locks its row, so numbers never repeat or skip."""

    key = models.CharField(max_length=20, unique=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.last_value}"


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def finalized(self) -> InvoiceQuerySet:
        """Issued invoices: drafts are the provider's working copies, never shown or exported."""
        return self.exclude(status=InvoiceStatus.DRAFT)

    def of_org(self, org: Organization) -> InvoiceQuerySet:
        """What an org's members and API keys see: its issued invoices, newest first."""
        return self.finalized().filter(org=org).order_by("-issued_at", "-id")


class Invoice(models.Model):
    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        "subscriptions.Subscription", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    kind = models.CharField(max_length=20, choices=InvoiceKind.choices)
    number = models.CharField(max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(max_length=14, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT, db_index=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    created_at = models.DateTimeField()
    issued_at = models.DateTimeField(null=True, blank=True, db_index=True)
    due_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    # What the seller's and the buyer's details were when the invoice was finalized: a re-render prints them.
    seller = models.JSONField(default=dict, blank=True, help_text="Name, address, tax ID and email of the seller.")
    billed_name = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", help_text="The org's, whose days the invoice prints.")
    billing_email = models.EmailField(blank=True)
    tax_id = models.CharField("tax ID", max_length=64, blank=True)
    billing_address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    tax_name = models.CharField(max_length=40, blank=True)
    tax_rate_bp = models.PositiveIntegerField(default=0)
    subtotal = models.BigIntegerField(default=0)
    tax = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    credit_applied = models.BigIntegerField(default=0, help_text="The org's account credit spent on this invoice.")
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_payment_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    memo = models.TextField(blank=True)
    stripe_invoice_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    pdf = models.FileField(upload_to="%Y/%m/", blank=True, storage=invoice_pdf_storage)
    pdf_rendered_at = models.DateTimeField(null=True, blank=True)
    pdf_fingerprint = models.CharField(max_length=64, blank=True, help_text="What the stored PDF was made from.")

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_start"],
                condition=Q(kind="renewal"),
                name="one_renewal_invoice_per_period",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False) | Q(stripe_invoice_id__isnull=False),
                name="finalized_invoices_have_numbers",
            ),
        ]
        # For finance staff (superusers have it anyway): the admin's month ZIP of PDFs and CSV.
        permissions = [
            ("export_invoices", "Can export invoices (PDFs and CSV) for finance"),
            ("void_invoice", "Can void open or past-due invoices"),
            ("resend_invoice", "Can email an invoice to its billing email again"),
            ("rerender_invoice_pdf", "Can re-render invoice PDFs"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft #{self.pk}"

    @property
    def is_finalized(self) -> bool:
        return self.status != InvoiceStatus.DRAFT

    @property
    def seller_details(self) -> dict[str, str]:
        """The seller as printed: as at finalization, or as configured now for a draft."""
        return self.seller or dict(settings.BILLING_SELLER)

    @property
    def amount_due(self) -> Money:
        """What the customer still owes: nothing on a voided invoice (an uncollectible one may still be paid)."""
        if self.status == InvoiceStatus.VOID:
            return Money.zero(self.currency)
        return Money(max(self.total - self.credit_applied - self.amount_paid, 0), self.currency)

    def money(self, field: str) -> Money:
        return Money(getattr(self, field), self.currency)


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    description = models.CharField(max_length=300)
    quantity = models.IntegerField(default=1)
    unit_amount = models.BigIntegerField(null=True, blank=True)
    amount = models.BigIntegerField()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_unique")]

    def __str__(self) -> str:
        return self.description


class InvoiceEventKind(models.TextChoices):
    CREATED = "created", "Created"
    FINALIZED = "finalized", "Finalized"
    PAID = "paid", "Paid"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    VOIDED = "voided", "Voided"
    UNCOLLECTIBLE = "uncollectible", "Marked uncollectible"
    PDF_RENDERED = "pdf_rendered", "PDF rendered"
    SENT = "sent", "Sent"
    REFUNDED = "refunded", "Refunded"


class InvoiceEvent(models.Model):
    """Append-only history of one invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=InvoiceEventKind.choices)
    at = models.DateTimeField()
    actor_label = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.invoice} {self.kind}"


class AccountCredit(models.Model):
    """What we owe an org in one currency, spent on its next invoices before any card is charged (Stripe's customer
    balance). The row is the lock for changing it; the balance is the sum of its entries."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="account_credits")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "currency"], name="one_account_credit_per_org_currency"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="account_credit_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.org} {Money(self.balance, self.currency).format()}"


class AccountCreditEntryKind(models.TextChoices):
    CREDITED = "credited", "Credited (invoice below zero)"
    APPLIED = "applied", "Applied to an invoice"
    RESTORED = "restored", "Restored (invoice voided)"


class AccountCreditEntry(models.Model):
    """One change of an account credit, tied to the invoice that caused it; append-only."""

    account = models.ForeignKey(AccountCredit, on_delete=models.PROTECT, related_name="entries")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="account_credit_entries")
    kind = models.CharField(max_length=10, choices=AccountCreditEntryKind.choices)
    amount = models.BigIntegerField(help_text="Minor units; positive adds to what we owe the org.")
    balance_after = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "account credit entries"
        # Each invoice credits, spends or restores at most once: settling or voiding twice changes nothing.
        constraints = [models.UniqueConstraint(fields=["invoice", "kind"], name="one_account_credit_entry_per_cause")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.invoice}"
