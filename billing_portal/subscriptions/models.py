from __future__ import annotations

from django.db import models
from django.db.models import Q

from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import plan_price
from billing_portal.core.money import CURRENCY_CHOICES, Money
from billing_portal.subscriptions.periods import Period


class Status(models.TextChoices):
    TRIALING = "trialing", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    PAUSED = "paused", "Paused"
    CANCELED = "canceled", "Canceled"


class Subscription(models.Model):
    """An org's one current subscription. Periods derive from `billing_anchor`, never from the last period."""

    org = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    interval = models.CharField(max_length=5, choices=Interval.choices, default=Interval.MONTH)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    billing_anchor = models.DateTimeField(
        help_text="Periods are whole months (or years) from this instant, read in the org's time zone."
    )
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField(db_index=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    scheduled_plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Plan to switch to at the end of the current period (a downgrade).",
    )
    scheduled_interval = models.CharField(max_length=5, choices=Interval.choices, blank=True)
    seat_quantity = models.PositiveIntegerField(default=1, help_text="Billed seats: accepted active members.")
    custom_base_price = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Negotiated base price per interval (minor units), e.g. Enterprise."
    )
    custom_seat_price = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Negotiated seat price per interval (minor units)."
    )
    past_due_since = models.DateTimeField(null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_state_at = models.DateTimeField(
        null=True, blank=True, help_text="Creation time of the newest Stripe event applied (older ones are ignored)."
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")), name="period_ends_after_start"
            ),
        ]
        # Staff operations in admin (superusers hold them all); the Support and Finance groups get some.
        permissions = [
            ("extend_trial", "Can extend a trial"),
            ("change_plan", "Can change an org's plan or interval, cancel or resume"),
            ("assign_enterprise", "Can assign Enterprise with custom prices and quotas"),
            ("advance_test_clock", "Can advance an org's test clock"),
        ]

    def __str__(self) -> str:
        return f"{self.org} on {self.plan.code}/{self.interval} ({self.status})"

    def base_price(self) -> Money:
        if self.custom_base_price is not None:
            return Money(self.custom_base_price, self.currency)
        return plan_price(self.plan, self.currency).base(self.interval)

    def seat_price(self) -> Money:
        if self.custom_seat_price is not None:
            return Money(self.custom_seat_price, self.currency)
        return plan_price(self.plan, self.currency).seat(self.interval)

    @property
    def period(self) -> Period:
        return Period(self.current_period_start, self.current_period_end)

    @property
    def is_paid(self) -> bool:
        return self.plan.is_contact_sales or self.recurring_price().amount > 0

    def recurring_price(self, *, seats: int | None = None) -> Money:
        """What one full period costs: base plus every seat."""
        quantity = self.seat_quantity if seats is None else seats
        return self.base_price() + self.seat_price() * quantity

    @property
    def has_scheduled_change(self) -> bool:
        return self.cancel_at_period_end or self.scheduled_plan_id is not None


class SeatChange(models.Model):
    """Append-only seat ledger: the absolute billed quantity from `effective_at` on.

    Each row keeps the period and seat price it happened in, so its day-prorated charge or credit can be put
    on the next invoice; `settled_invoice` marks the invoice that carried it.
    """

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="seat_changes")
    effective_at = models.DateTimeField(db_index=True)
    quantity = models.PositiveIntegerField()
    previous_quantity = models.PositiveIntegerField()
    idempotency_key = models.CharField(max_length=200, unique=True)
    reason = models.CharField(max_length=200)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    seat_price = models.BigIntegerField(
        help_text="Price of one seat for a whole period, minor units (0 when unbilled)."
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    settled_invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="settled_seat_changes"
    )

    class Meta:
        ordering = ["effective_at", "id"]

    def __str__(self) -> str:
        return f"{self.previous_quantity} -> {self.quantity} at {self.effective_at:%Y-%m-%d}"


class JobExecution(models.Model):
    """One run of a billing job over all due orgs: when, how many, and how it ended (shown in admin)."""

    job = models.CharField(max_length=40, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.job} at {self.started_at:%Y-%m-%d %H:%M}"


class JobRun(models.Model):
    """Marks one billing job done for one org and period: the unique key that makes every job idempotent."""

    job = models.CharField(max_length=40)
    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="job_runs")
    period_key = models.CharField(max_length=64)
    ran_at = models.DateTimeField()
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-ran_at"]
        constraints = [models.UniqueConstraint(fields=["job", "org", "period_key"], name="job_once_per_org_period")]

    def __str__(self) -> str:
        return f"{self.job} {self.org_id} {self.period_key}"
