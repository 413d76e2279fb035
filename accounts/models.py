from __future__ import annotations

import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.timezone import now as timezone_now

from billing_portal.core.money import CURRENCY_CHOICES


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. The email address is the login."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the staff admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone_now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name.")


class Organization(models.Model):
    """The customer: it holds the subscription, the members, the credit pool and the invoices."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    billing_email = models.EmailField()
    tax_id = models.CharField("tax ID", max_length=64, blank=True)
    billing_address = models.TextField(blank=True)
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166-1 alpha-2 code.")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="USD")
    credit_alert_threshold_pct = models.PositiveSmallIntegerField(
        default=20, help_text="Owners are emailed when the credit pool falls below this share of its grant."
    )
    test_clock = models.ForeignKey(
        "core.TestClock", null=True, blank=True, on_delete=models.PROTECT, related_name="orgs"
    )
    created_at = models.DateTimeField(default=timezone_now)
    closure_requested_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def email(self) -> str:
        """dj-stripe's subscriber model needs an `email`; Stripe bills the org's billing email."""
        return self.billing_email

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(removed_at__isnull=True)


class Membership(models.Model):
    """An accepted place in an org. Removal keeps the row (usage and audit history refer to it)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    billing_read = models.BooleanField(
        "billing:read", default=False, help_text="Lets a MEMBER or VIEWER see (not change) billing."
    )
    joined_at = models.DateTimeField()
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "user"], condition=Q(removed_at__isnull=True), name="membership_one_active_per_user"
            ),
            # "Exactly one OWNER": at most one here; services never leave an org without one.
            models.UniqueConstraint(
                fields=["org"], condition=Q(role="owner", removed_at__isnull=True), name="membership_one_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.role})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Invitation(models.Model):
    """An offer to join an org. Pending invitations are not seats; accepting one creates the membership."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "email"], condition=Q(status="pending"), name="invitation_one_pending_per_email"
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} -> {self.org} ({self.status})"


class Space(models.Model):
    """An org-scoped workspace that usage and caps refer to."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="spaces")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=60)
    created_at = models.DateTimeField(default=timezone_now)
    read_only = models.BooleanField(
        default=False, help_text="Beyond the plan's space limit after a downgrade: kept, but not writable."
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["org", "slug"], name="space_slug_unique_per_org")]

    def __str__(self) -> str:
        return f"{self.org.slug}/{self.slug}"
