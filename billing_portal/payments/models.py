from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing_portal.catalog.models import Interval
from billing_portal.core.money import CURRENCY_CHOICES


class MethodKind(models.TextChoices):
    CARD = "card", "Card"
    BANK = "bank", "Bank account"


class TestCard(models.TextChoices):
    """The local provider's test cards, modelled on Stripe's. No real card number is ever accepted."""

    __test__ = False

    SUCCEEDS = "succeeds", "Visa •••• 4242: payments succeed"
    DECLINES = "declines", "Visa •••• 0002: payments are declined"
    NEEDS_ATTENTION = "needs_attention", "Visa •••• 3155: needs authentication when you are away"


class PaymentMethod(models.Model):
    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="payment_methods")
    provider = models.CharField(max_length=10)
    kind = models.CharField(max_length=4, choices=MethodKind.choices, default=MethodKind.CARD)
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    bank_name = models.CharField(max_length=60, blank=True)
    test_card = models.CharField(max_length=16, choices=TestCard.choices, blank=True)
    stripe_payment_method_id = models.CharField(max_length=255, blank=True)
    is_default = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    detached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org"], condition=Q(is_default=True, detached_at__isnull=True),
                name="one_default_payment_method",
            )
        ]

    def __str__(self) -> str:
        if self.kind == MethodKind.BANK:
            return f"{self.bank_name or 'Bank'} •••• {self.last4}"
        return f"{self.brand} •••• {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}" if self.exp_month and self.exp_year else ""


class ChargeStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Charge(models.Model):
    """One payment attempt against an invoice; the idempotency key makes a retried call charge once."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="charges")
    invoice = models.ForeignKey("invoices.Invoice", null=True, on_delete=models.PROTECT, related_name="charges")
    payment_method = models.ForeignKey(PaymentMethod, null=True, on_delete=models.SET_NULL, related_name="charges")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=10, choices=ChargeStatus.choices)
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=300, blank=True)
    provider = models.CharField(max_length=10)
    provider_reference = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    on_session = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("refund_charge", "Can refund charges")]

    def __str__(self) -> str:
        return f"{self.status} {self.amount} {self.currency}"


class Refund(models.Model):
    """Money given back on a succeeded charge; append-only. A charge's refunds never add up to more than it took.

    The invoice the charge paid is never edited: the refund shows in its history and on its admin page.
    """

    org = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="refunds")
    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="refunds")
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds",
        help_text="The invoice the charge paid.",
    )
    amount = models.PositiveBigIntegerField(help_text="Minor units, in the charge's currency.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    reason = models.CharField(max_length=300)
    provider = models.CharField(max_length=10)
    provider_reference = models.CharField(max_length=255)
    idempotency_key = models.CharField(max_length=200, unique=True)
    refunded_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency} of charge {self.charge_id}"


class PriceComponent(models.TextChoices):
    BASE = "base", "Base price"
    SEAT = "seat", "Per seat"


class StripePrice(models.Model):
    """The Stripe Price that bills one component of a plan in one currency and interval.

    Stripe prices are immutable, so a catalog price change makes a new Stripe price; the old row stays (not
    current) because subscriptions created before the change keep billing on it and must still map to the plan.
    Stripe ids are plain strings: no foreign key into dj-stripe's tables.
    """

    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="stripe_prices")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    interval = models.CharField(max_length=5, choices=Interval.choices)
    component = models.CharField(max_length=4, choices=PriceComponent.choices)
    unit_amount = models.PositiveBigIntegerField(help_text="What the Stripe price charges, minor units.")
    lookup_key = models.CharField(max_length=200)
    stripe_product_id = models.CharField(max_length=255)
    stripe_price_id = models.CharField(max_length=255, unique=True)
    is_current = models.BooleanField(default=True, help_text="New subscriptions and changes use this price.")
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["plan__display_order", "currency", "interval", "component", "-synced_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "currency", "interval", "component"],
                condition=Q(is_current=True),
                name="one_current_stripe_price",
            )
        ]

    def __str__(self) -> str:
        return f"{self.lookup_key} = {self.stripe_price_id}"


class StripeEventOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    STALE = "stale", "Older than the state already applied"
    IGNORED = "ignored", "Not for this portal"


class StripeEventReceipt(models.Model):
    """Append-only ledger of the Stripe events the portal acted on, one row per event id.

    The unique event id makes a replayed event a no-op; per Stripe object, the newest applied event's
    `stripe_created` is the state we hold, so an older event delivered late is recorded as stale and changes nothing.
    """

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    stripe_object_id = models.CharField(max_length=255, db_index=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    org = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events"
    )
    stripe_created = models.DateTimeField(help_text="When Stripe created the event.")
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=StripeEventOutcome.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-stripe_created", "-id"]
        indexes = [models.Index(fields=["stripe_object_id", "outcome", "-stripe_created"])]
        permissions = [
            ("resync_stripe", "Can re-sync an organization from Stripe"),
            ("reprocess_stripe_event", "Can reprocess failed Stripe webhook deliveries"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.outcome})"
