from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.selectors import owner_of
from metering.models import CreditAlert


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def credit_alert_email(alert_id: int) -> bool:
    """Email the owner about one alert once: the row is claimed before sending, released if sending fails."""
    claimed = CreditAlert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    alert = CreditAlert.objects.select_related("org", "pool__member__user").get(pk=alert_id)
    context = {
        "alert": alert,
        "org": alert.org,
        "member": alert.pool.member,
        "pct": alert.org.credit_alert_threshold_pct,
        "portal_url": settings.PORTAL_BASE_URL,
    }
    try:
        send_mail(
            subject=render_to_string(f"metering/email/credits_{alert.kind}_subject.txt", context).strip(),
            message=render_to_string(f"metering/email/credits_{alert.kind}.txt", context),
            from_email=None,
            recipient_list=[owner_of(alert.org).user.email],
        )
    except Exception:
        CreditAlert.objects.filter(pk=alert_id).update(emailed_at=None)
        raise
    return True


def credit_alerts_unsent() -> QuerySet[CreditAlert]:
    """Each pool's latest alert if its email never went out (queued while the broker was down, or failed past its
    retries); beat's catch-up sends them. An older alert, superseded by a newer one for its pool, is moot."""
    newer = CreditAlert.objects.filter(pool=OuterRef("pool"), pk__gt=OuterRef("pk"))
    return CreditAlert.objects.filter(emailed_at__isnull=True).exclude(Exists(newer))
