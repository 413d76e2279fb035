"""Usage: raw events (the per-call log), counters (exact enforcement), rollups (charts) and caps."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

# The org-wide counter of a meter; member and space counters use "member:<id>" / "space:<id>".
ORG_SUBJECT = "org"
# Caps on a member's credit spend use this pseudo-meter next to the catalog's meters.
CREDITS_METER = "credits"


class UsageWindow(models.Model):
    """The usage and credit window an org's pools and counters were last brought to (monthly from anchor)."""

    org = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="usage_window")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField(db_index=True)
    reset_at = models.DateTimeField(help_text="When the window was last opened (on the org's clock).")

    def __str__(self) -> str:
        return f"{self.org_id}: {self.window_start:%Y-%m-%d} - {self.window_end:%Y-%m-%d}"


class UsageEvent(models.Model):
    """One call reported by a client product. Failed and test-key calls are kept here but never counted."""

    # The log's references have no database foreign keys: the one write path takes them from rows it has just read
    # (the caller's key and org, the member and space it looked up in the same transaction), those rows are only
    # deleted through the ORM, which applies on_delete, and checking four references per event, while the hot
    # rows are locked, cost a fifth of PostgreSQL's time per batch (bench/metering.py). The credit ledger keeps the
    # database check of its pool reference (CreditEntry). Nor indexes of their own: the composite indexes below
    # lead with them, and every index costs each event an insert.
    org = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="usage_events",
        db_index=False,
        db_constraint=False,
    )
    key = models.CharField(max_length=200, help_text="The client's idempotency key (`id` in the API).")
    meter = models.CharField(max_length=40)
    quantity = models.PositiveBigIntegerField()
    member = models.ForeignKey(
        "accounts.Membership",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="usage_events",
        db_index=False,
        db_constraint=False,
    )
    space = models.ForeignKey(
        "accounts.Space",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    model = models.CharField(max_length=100, blank=True)
    agent = models.CharField(max_length=100, blank=True)
    integration = models.CharField(max_length=100, blank=True)
    success = models.BooleanField(default=True)
    byok = models.BooleanField("BYOK", default=False)
    test_mode = models.BooleanField(default=False, help_text="Sent with a test API key: free.")
    counted = models.BooleanField(default=False)
    credits = models.PositiveBigIntegerField(default=0, help_text="Credits debited for this call.")
    # The answer given the first time, replayed for a repeated key.
    used = models.PositiveBigIntegerField(default=0)
    quota = models.PositiveBigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=8, default="ok")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    api_key = models.ForeignKey(
        "api.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        # Test keys and live keys each have their ids: a test call never takes a live call's id.
        constraints = [
            models.UniqueConstraint(fields=["org", "test_mode", "key"], name="usage_event_key_once_per_org_and_mode")
        ]
        indexes = [
            models.Index(fields=["org", "-occurred_at"], name="usage_event_org_time"),
            models.Index(
                fields=["member", "-occurred_at"], name="usage_event_member_time", condition=Q(member__isnull=False)
            ),
            models.Index(
                fields=["space", "-occurred_at"], name="usage_event_space_time", condition=Q(space__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.meter} x{self.quantity} ({self.key})"


class UsageCounter(models.Model):
    """Exact usage of one meter in one window for the org, a member or a space, with the limit that applies.

    Limits are copied here from the plan (and caps) whenever a window opens or a plan or cap changes, so the
    hot path checks and counts with no catalog reads.
    """

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    meter = models.CharField(max_length=40)
    window_start = models.DateTimeField()
    subject = models.CharField(max_length=40)
    member = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    space = models.ForeignKey(
        "accounts.Space", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    used = models.PositiveBigIntegerField(default=0)
    quota = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    hard_limit = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Quota plus grace; empty: none."
    )
    limits_set = models.BooleanField(
        default=True, help_text="False only on an org row the hot path created before the window was opened."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "meter", "window_start", "subject"], name="usage_counter_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org_id}/{self.meter}/{self.subject}: {self.used}"


class UsageRollup(models.Model):
    """Daily totals per combination of dimensions, updated in the same transaction as the events."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="In the org's time zone.")
    # Room for every part at its longest with each character escaped.
    dimensions = models.CharField(max_length=1000, help_text="All dimensions below joined: the unique key.")
    meter = models.CharField(max_length=40, blank=True)
    member = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    space = models.ForeignKey(
        "accounts.Space", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.CharField(max_length=100, blank=True)
    agent = models.CharField(max_length=100, blank=True)
    integration = models.CharField(max_length=100, blank=True)
    line_item = models.CharField(max_length=20, blank=True)
    events = models.PositiveBigIntegerField(default=0)
    failed_events = models.PositiveBigIntegerField(default=0)
    quantity = models.PositiveBigIntegerField(default=0, help_text="Counted quantity.")
    credits = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["org", "day", "dimensions"], name="usage_rollup_unique")
        ]

    def __str__(self) -> str:
        return f"{self.org_id} {self.day} {self.dimensions}"


class UsageCap(models.Model):
    """A monthly cap on one member's or one space's use of a meter (or a member's credit spend)."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="usage_caps")
    meter = models.CharField(
        max_length=40, help_text="A meter code, or 'credits' for a per-user credit limit."
    )
    member = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    space = models.ForeignKey(
        "accounts.Space", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    limit = models.PositiveBigIntegerField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(member__isnull=True, space__isnull=False)
                | Q(member__isnull=False, space__isnull=True),
                name="usage_cap_member_xor_space",
            ),
            models.UniqueConstraint(
                fields=["org", "meter", "member"],
                condition=Q(member__isnull=False),
                name="usage_cap_one_per_member",
            ),
            models.UniqueConstraint(
                fields=["org", "meter", "space"],
                condition=Q(space__isnull=False),
                name="usage_cap_one_per_space",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.meter} <= {self.limit}"

    @property
    def subject(self) -> str:
        return f"member:{self.member_id}" if self.member_id else f"space:{self.space_id}"
