from __future__ import annotations

from django.db import models
from django.db.models import Q

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
                fields=["org"], condition=Q(is_default=True, detached_at__isnull=True), name="one_default_payment_method"
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

    def __str__(self) -> str:
        return f"{self.status} {self.amount} {self.currency}"
