from __future__ import annotations

from django.conf import settings
from django.db import models


class KeyKind(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


class Scope(models.TextChoices):
    USAGE = "usage", "usage (events, quotas, sessions, credits)"
    BILLING_READ = "billing:read", "billing:read"
    BILLING_WRITE = "billing:write", "billing:write (checkout, cancel)"


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """An org's API key. Only a SHA-256 of the secret is stored; the prefix shows its kind and identity."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=4, choices=KeyKind.choices, default=KeyKind.LIVE)
    prefix = models.CharField(max_length=24, help_text="The first characters of the key, safe to show.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        permissions = [
            ("issue_api_key", "Issue an org's API keys (the secret is shown once)"),
            ("revoke_api_key", "Revoke an org's API keys"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_test(self) -> bool:
        return self.kind == KeyKind.TEST
