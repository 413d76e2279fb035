from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from billing_portal.core.money import CURRENCY_CHOICES, Money


class Meter(models.Model):
    """Something usage is counted in (tool calls, AI tokens, API requests)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    unit = models.CharField(max_length=40, help_text="Singular unit shown next to amounts, e.g. 'call'.")
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "code"]

    def __str__(self) -> str:
        return self.name


class Interval(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"


class CreditModel(models.TextChoices):
    PER_MEMBER = "per_member", "Per member"
    POOLED = "pooled", "Pooled"


class Plan(models.Model):
    """A catalog entry. Prices are integer minor units in `currency`; yearly prices are per year."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    tagline = models.CharField(max_length=200, blank=True)
    display_order = models.PositiveSmallIntegerField(
        default=0, help_text="Rank: a plan with a higher order is an upgrade from one with a lower order."
    )
    is_public = models.BooleanField(default=True, help_text="Shown on the Plans page and the public API.")
    is_contact_sales = models.BooleanField(default=False, help_text="No self-serve checkout; staff assign it.")
    is_signup_trial = models.BooleanField(
        default=False, help_text="New sign-ups start a trial of this plan instead of Free (at most one plan)."
    )
    trial_days = models.PositiveSmallIntegerField(default=0)
    credit_model = models.CharField(max_length=12, choices=CreditModel.choices, default=CreditModel.PER_MEMBER)
    credit_allotment = models.PositiveBigIntegerField(
        default=0, help_text="Credits granted each cycle (per member on per-member plans); never rolls over."
    )
    credit_per_seat = models.PositiveBigIntegerField(default=0, help_text="Extra pooled credits per seat.")
    grace_pct = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Calls above the quota succeed up to this %."
    )
    limit_members = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    limit_spaces = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    limit_concurrent_sessions = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited.")
    limit_storage_mb = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    feature_sso = models.BooleanField("SSO", default=False)
    feature_scim = models.BooleanField("SCIM", default=False)
    feature_custom_limits = models.BooleanField("custom per-user limits", default=False)
    feature_priority_support = models.BooleanField("priority support", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_order", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_signup_trial"], condition=Q(is_signup_trial=True), name="one_signup_trial_plan"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def pooled_credits(self) -> bool:
        """One credit pool for the whole org; otherwise one per member."""
        return self.credit_model == CreditModel.POOLED

    def price_for(self, currency: str) -> PlanPrice | None:
        """This plan's prices in `currency` (uses prefetched prices when present)."""
        return next((price for price in self.prices.all() if price.currency == currency), None)


class PlanPrice(models.Model):
    """A plan's prices in one currency, integer minor units. Yearly prices are per year."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    price_month = models.PositiveBigIntegerField(default=0, help_text="Base price per month, minor units.")
    price_year = models.PositiveBigIntegerField(default=0, help_text="Base price per year, minor units.")
    seat_price_month = models.PositiveBigIntegerField(default=0, help_text="Per seat per month, minor units.")
    seat_price_year = models.PositiveBigIntegerField(default=0, help_text="Per seat per year, minor units.")

    class Meta:
        ordering = ["plan__display_order", "currency"]
        constraints = [models.UniqueConstraint(fields=["plan", "currency"], name="plan_price_unique_currency")]

    def __str__(self) -> str:
        return f"{self.plan.code} in {self.currency}"

    @property
    def is_free(self) -> bool:
        return not (self.price_month or self.price_year or self.seat_price_month or self.seat_price_year)

    def base(self, interval: str) -> Money:
        return Money(self.price_year if interval == Interval.YEAR else self.price_month, self.currency)

    def seat(self, interval: str) -> Money:
        return Money(self.seat_price_year if interval == Interval.YEAR else self.seat_price_month, self.currency)

    def yearly_saving(self, seats: int = 1) -> Money:
        """What paying yearly saves against twelve monthly payments."""
        monthly = (self.base(Interval.MONTH) + self.seat(Interval.MONTH) * seats) * 12
        return monthly - (self.base(Interval.YEAR) + self.seat(Interval.YEAR) * seats)


class PlanQuota(models.Model):
    """A plan's monthly quota for one meter; empty means unlimited."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="quotas")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    monthly_quota = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty means unlimited.")

    class Meta:
        ordering = ["meter__display_order"]
        constraints = [models.UniqueConstraint(fields=["plan", "meter"], name="plan_quota_unique_meter")]

    def __str__(self) -> str:
        return f"{self.plan.code}/{self.meter.code}: {self.monthly_quota if self.monthly_quota is not None else '∞'}"


class QuotaOverride(models.Model):
    """A staff-set quota for one org (Enterprise deals); wins over the plan's quota while it exists."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="quota_overrides")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    monthly_quota = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty means unlimited.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "meter"], name="quota_override_unique_meter")]

    def __str__(self) -> str:
        return f"{self.org.slug}/{self.meter.code}"
