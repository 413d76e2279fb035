"""The username django-axes records for a sign-in attempt, cut to what its tables hold.

Django's sign-in form authenticates before any length check (its username max_length only sizes the widget), so a
very long username reached axes' failed-attempt INSERT and failed it: a 500 on PostgreSQL instead of "wrong email
or password". Set as AXES_USERNAME_CALLABLE; otherwise it finds the username as axes does."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

AXES_USERNAME_LENGTH = 255  # axes.models.AccessBase.username


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    data = credentials or getattr(request, "data", request.POST)
    username = data.get(settings.AXES_USERNAME_FORM_FIELD)
    return None if username is None else str(username)[:AXES_USERNAME_LENGTH]
