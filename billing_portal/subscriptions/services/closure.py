"""Closing an account: the OWNER asks, billing stops at once, and personal data is purged 30 days later.

Invoices, charges, the subscription row and the audit trail are kept (financial records); everything else that
belongs to the org is deleted, and members who belonged to no other org are deleted with it.
"""

from __future__ import annotations

from datetime import timedelta
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING

from django.db import transaction

from accounts.models import Invitation, InvitationStatus, Membership, Organization, Role, User
from billing_portal.api.models import ApiKey
from billing_portal.audit.services import Actor, audit_record
from billing_portal.core import clock
from billing_portal.core.errors import Conflict, NotAllowed
from billing_portal.payments.providers import get_provider
from billing_portal.payments.providers.base import CancellationUpdate
from billing_portal.subscriptions.models import Status
from billing_portal.subscriptions.services.renewal import job_claim
from billing_portal.subscriptions.services.seats import subscription_locked

if TYPE_CHECKING:
    from django.db.models import Model

PURGE_AFTER = timedelta(days=30)
KEPT_ON_PURGE = {"invoices.invoice", "payments.charge", "payments.stripeeventreceipt", "audit.auditentry",
                 "subscriptions.subscription", "subscriptions.jobrun", "accounts.membership"}


def _purgeable(org: Organization) -> list[tuple[type[Model], str]]:
    """Every model that belongs to an org and is not kept, referencing models first so nothing is protected."""
    # Hidden relations too: a ForeignKey with related_name="+" still points at the org.
    owned = {
        relation.related_model: relation.field.name
        for relation in org._meta.get_fields(include_hidden=True)
        if relation.auto_created and not relation.concrete and relation.on_delete.__name__ == "CASCADE"
        and relation.related_model._meta.label_lower not in KEPT_ON_PURGE
    }
    order: TopologicalSorter[type[Model]] = TopologicalSorter()
    for model in owned:
        referencing = [other for other in owned if any(
            field.is_relation and field.related_model is model for field in other._meta.fields)]
        order.add(model, *[other for other in referencing if other is not model])
    return [(model, owned[model]) for model in order.static_order()]


def org_request_closure(*, org: Organization, by: Membership, actor: Actor, reason: str = "") -> None:
    if by.role != Role.OWNER or by.org_id != org.pk:
        raise NotAllowed("Only the owner can close the account.")
    with transaction.atomic():
        subscription = subscription_locked(org)
        if org.closure_requested_at is not None:
            raise Conflict("Closing this account was already requested.")
        now = clock.now(org=org)
        Organization.objects.filter(pk=org.pk).update(closure_requested_at=now)
        if subscription.stripe_subscription_id:
            get_provider().set_cancellation(CancellationUpdate(
                org_id=org.pk, subscription_reference=subscription.stripe_subscription_id, cancel_at_period_end=True,
                idempotency_key=f"closure:{org.pk}"))
        before = subscription.status
        subscription.status = Status.CANCELED
        subscription.save(update_fields=["status", "updated_at"])
        for key in ApiKey.objects.select_for_update().filter(org=org, revoked_at__isnull=True):
            ApiKey.objects.filter(pk=key.pk).update(revoked_at=now)
            audit_record(org=org, actor=actor, action="api_key.revoked", target=key,
                         after={"prefix": key.prefix}, reason="Account closure")
        # Nobody can join a closed account: its pending invitations go with it, so none stays listed or mailed.
        for invitation in Invitation.objects.select_for_update().filter(org=org, status=InvitationStatus.PENDING):
            Invitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.REVOKED, responded_at=now)
            audit_record(org=org, actor=actor, action="invitation.revoked", target=invitation,
                         before={"status": InvitationStatus.PENDING}, after={"status": InvitationStatus.REVOKED},
                         reason="Account closure")
        audit_record(org=org, actor=actor, action="org.closure_requested", target=org,
                     before={"status": before}, after={"status": Status.CANCELED, "purge_after": now + PURGE_AFTER},
                     reason=reason)


def org_purge(*, org_id: int, actor: Actor) -> str:
    with transaction.atomic():
        org = Organization.objects.select_for_update(of=("self",)).select_related("test_clock").get(pk=org_id)
        requested = org.closure_requested_at
        if requested is None or org.purged_at is not None:
            return "not closing"
        if requested + PURGE_AFTER > clock.now(org=org):
            return "not due"
        if not job_claim(job="closure_purge", org=org, key=requested.isoformat()):
            return "already done"
        member_ids = list(Membership.objects.filter(org=org).values_list("user_id", flat=True))
        counts = {}
        for model, field in _purgeable(org):
            deleted, _ = model._default_manager.filter(**{field: org}).delete()
            counts[model._meta.label_lower] = deleted
        Membership.objects.filter(org=org).delete()
        orphans = User.objects.filter(pk__in=member_ids, is_staff=False, memberships__isnull=True)
        counts["accounts.user"] = orphans.delete()[0]
        Organization.objects.filter(pk=org.pk).update(
            name=f"Closed organization {org.pk}", slug=f"closed-{org.pk}", billing_email=f"closed-{org.pk}@invalid",
            tax_id="", billing_address="", purged_at=clock.now(org=org),
        )
        audit_record(org=org, actor=actor, action="org.purged", target=org, after={"deleted": counts})
        return "purged"
