"""Emails to an org's owner (and billing email) about its subscription."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.selectors import owner_of

if TYPE_CHECKING:
    from accounts.models import Organization


def notify_owner(org: Organization, template: str, **context: Any) -> None:
    """Send `templates/emails/<template>_subject.txt` and `_body.txt` to the owner and the billing email."""
    context = {"org": org, "portal_url": settings.PORTAL_BASE_URL, **context}
    with timezone.override(org.tz):  # the dates it names are the org's days
        subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
        body = render_to_string(f"emails/{template}_body.txt", context)
    recipients = sorted({owner_of(org).user.email, org.billing_email} - {""})
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
