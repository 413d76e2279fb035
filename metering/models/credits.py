"""Credits: pools kept in step with an append-only ledger, the staff-editable rate table and top-up packs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing_portal.core.money import CURRENCY_CHOICES


class CreditPool(models.Model):
    """An org's pooled balance (no member) or one member's balance on a per-member plan.

    The two buckets always equal the sums of the ledger's deltas; the check constraints make overdrawing
    impossible even for a buggy caller.
    """

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="credit_pools")
    member = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    window_start = models.DateTimeField(help_text="The window whose allotment this pool holds.")
    allotment_balance = models.BigIntegerField(default=0)
    topup_balance = models.BigIntegerField(default=0)
    allotment_granted = models.BigIntegerField(
        default=0, help_text="The allotment this window granted: the plan's, or what was spent if more."
    )
    cycle_grant = models.BigIntegerField(
        default=0, help_text="Credits made available this window: the base of the low-balance threshold."
    )
    low_alert_sent_for = models.DateTimeField(
        null=True, blank=True, help_text="Window of the last low alert."
    )
    low_alert_open = models.BooleanField(
        default=False, help_text="Below the threshold and not refilled since."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(allotment_balance__gte=0), name="credit_pool_allotment_not_negative"
            ),
            models.CheckConstraint(condition=Q(topup_balance__gte=0), name="credit_pool_topups_not_negative"),
            models.UniqueConstraint(
                fields=["org"], condition=Q(member__isnull=True), name="credit_pool_one_per_org"
            ),
            models.UniqueConstraint(
                fields=["member"], condition=Q(member__isnull=False), name="credit_pool_one_per_member"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org_id}/{self.member_id or 'pool'}: {self.balance}"

    @property
    def balance(self) -> int:
        return self.allotment_balance + self.topup_balance


class EntryKind(models.TextChoices):
    ALLOTMENT_GRANT = "allotment_grant", "Monthly allotment"
    ALLOTMENT_EXPIRY = "allotment_expiry", "Allotment expired"
    PLAN_CHANGE = "plan_change", "Allotment reseeded after a plan change"
    TOPUP = "topup", "Top-up"
    STAFF_GRANT = "staff_grant", "Staff grant"
    STAFF_REVOKE = "staff_revoke", "Staff revoke"
    DEBIT = "debit", "Usage"
    FORFEIT = "forfeit", "Forfeited on a plan change"
    TRANSFER = "transfer", "Moved between pools (a plan change, a member back)"


class LineItem(models.TextChoices):
    LLM = "llm", "LLM cost"
    TOOL = "tool", "Tool calls"
    STORAGE = "storage", "Storage"


class CreditEntry(models.Model):
    """Append-only: one change to one pool, tied to its cause (usage event, invoice, window, staff reason)."""

    # Indexes are partial or composite where they can be: one is written per debit on the hot path.
    # The database checks the pool reference only. org and member repeat the pool's (ledger_post copies them), and
    # usage_event points into the event log, which has no database foreign keys either (UsageEvent); the ORM
    # still applies their on_delete. Checking all four per debit, at COMMIT while the hot rows are locked, cost
    # a quarter of a 1,000-event batch's write (bench/metering.py).
    org = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="credit_entries",
        db_index=False,
        db_constraint=False,
    )
    pool = models.ForeignKey(CreditPool, on_delete=models.PROTECT, related_name="entries")
    member = models.ForeignKey(
        "accounts.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    allotment_delta = models.BigIntegerField(default=0)
    topup_delta = models.BigIntegerField(default=0)
    allotment_balance_after = models.BigIntegerField()
    topup_balance_after = models.BigIntegerField()
    at = models.DateTimeField()
    window_start = models.DateTimeField()
    line_item = models.CharField(max_length=20, choices=LineItem.choices, blank=True)
    line_key = models.CharField(max_length=100, blank=True, help_text="The model or integration priced.")
    usage_event = models.ForeignKey(
        "metering.UsageEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=300, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "credit entries"
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="credit_entry_idempotency_key_once",
            )
        ]
        indexes = [
            models.Index(fields=["org", "-at"], name="credit_entry_org_time"),
            models.Index(fields=["member"], condition=Q(member__isnull=False), name="credit_entry_member"),
            models.Index(fields=["invoice"], condition=Q(invoice__isnull=False), name="credit_entry_invoice"),
        ]
        permissions = [
            ("grant_credits", "Can grant or revoke credits (up to the support limit per action)"),
            ("grant_large_credits", "Can grant or revoke credits above the support limit"),
            ("set_credit_limits", "Can set per-user credit limits"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+}"

    @property
    def amount(self) -> int:
        return self.allotment_delta + self.topup_delta


class CreditRate(models.Model):
    """What a line item costs: `credits` per `per_units` units, rounded up per call. Key '*': the default."""

    line_item = models.CharField(max_length=20, choices=LineItem.choices)
    key = models.CharField(max_length=100, help_text="Model name, integration slug, or * for the default.")
    credits = models.PositiveIntegerField()
    per_units = models.PositiveIntegerField(
        default=1, help_text="e.g. 1,000 for a price per thousand tokens."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["line_item", "key"]
        constraints = [
            models.UniqueConstraint(fields=["line_item", "key"], name="credit_rate_unique"),
            models.CheckConstraint(condition=Q(per_units__gt=0), name="credit_rate_per_units_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.line_item}/{self.key}: {self.credits} per {self.per_units}"


class TopupPack(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    credits = models.PositiveBigIntegerField()
    is_active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "credits"]

    def __str__(self) -> str:
        return self.name


class TopupPackPrice(models.Model):
    pack = models.ForeignKey(TopupPack, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = models.PositiveBigIntegerField(help_text="Minor units.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pack", "currency"], name="topup_price_unique_currency")
        ]

    def __str__(self) -> str:
        return f"{self.pack.code} {self.amount} {self.currency}"


class TopupPurchase(models.Model):
    """A top-up bought by the owner; its credits are granted once, when its invoice is paid."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    pack = models.ForeignKey(TopupPack, on_delete=models.PROTECT, related_name="+")
    invoice = models.OneToOneField(
        "invoices.Invoice", on_delete=models.PROTECT, related_name="topup_purchase"
    )
    member = models.ForeignKey(
        "accounts.Membership",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Buyer; their pool on per-member plans.",
    )
    credits = models.PositiveBigIntegerField()
    bought_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_key = models.UUIDField(
        null=True, blank=True, unique=True, help_text="The purchase form's own key: submitted twice, it buys once."
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.credits} credits ({self.invoice})"


class CreditAlert(models.Model):
    """A low-balance or refilled email to the owners; unique per pool, kind and window, so it goes once."""

    class Kind(models.TextChoices):
        LOW = "low", "Low balance"
        REFILLED = "refilled", "Refilled"

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    pool = models.ForeignKey(CreditPool, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    window_start = models.DateTimeField(help_text="The window in which the balance fell low.")
    balance = models.BigIntegerField()
    threshold = models.BigIntegerField()
    created_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "kind", "window_start"], name="credit_alert_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.balance}/{self.threshold}"
