from django.conf import settings
from django.db import models


class ActorKind(models.TextChoices):
    USER = "user", "User"
    STAFF = "staff", "Staff"
    SYSTEM = "system", "System job"
    API_KEY = "api_key", "API key"
    STRIPE = "stripe", "Stripe webhook"


class AuditEntry(models.Model):
    """One change of plan, interval, status, seats, credits, invoice state, API keys, roles or ownership.

    Append-only: nothing updates or deletes these rows (the admin is read-only and the services only insert).
    """

    at = models.DateTimeField(db_index=True)
    org = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    org_label = models.CharField(max_length=200, blank=True, help_text="The org's slug, kept after a purge.")
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["org", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} ({self.actor_label})"
