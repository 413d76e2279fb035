from __future__ import annotations

import uuid

from django.db import models


class UsageSession(models.Model):
    """A concurrent-session slot. It is active until ended or until `expires_at` passes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="usage_sessions")
    member = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "api.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    test_mode = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["org", "test_mode", "ended_at"], name="usage_session_open")]

    def __str__(self) -> str:
        return str(self.id)

    def status(self, now: object) -> str:
        if self.ended_at is not None:
            return "ended"
        return "expired" if self.expires_at <= now else "active"  # type: ignore[operator]
