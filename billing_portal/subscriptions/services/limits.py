"""What happens to resources beyond a plan's limits: kept, never deleted, but no longer usable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from accounts.models import Membership, Role, Space
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.selectors import entitlements_for
from billing_portal.core import clock
from billing_portal.subscriptions.services.seats import seats_sync

if TYPE_CHECKING:
    from accounts.models import Organization
    from billing_portal.catalog.models import Plan


def members_over_limit(org: Organization, plan: Plan) -> QuerySet[Membership]:
    """The newest non-owner members beyond the plan's member limit (the ones a downgrade removes)."""
    limit = entitlements_for(plan=plan, org=org).limit_members
    active = Membership.objects.active().filter(org=org).exclude(role=Role.OWNER).order_by("-joined_at", "-id")
    if limit is None:
        return active.none()
    excess = max(active.count() + 1 - limit, 0)
    return active.filter(pk__in=list(active.values_list("pk", flat=True)[:excess]))


def plan_limits_apply(*, org: Organization, plan: Plan, actor: Actor) -> None:
    """Fit the org to `plan`: spaces past the limit turn read-only (and back when it grows); extra members leave."""
    space_limit = entitlements_for(plan=plan, org=org).limit_spaces
    spaces = list(Space.objects.filter(org=org).order_by("created_at", "id"))
    for index, space in enumerate(spaces):
        read_only = space_limit is not None and index >= space_limit
        if space.read_only != read_only:
            Space.objects.filter(pk=space.pk).update(read_only=read_only)
            audit_record(org=org, actor=actor, action="space.read_only_changed", target=space,
                         before={"read_only": space.read_only}, after={"read_only": read_only},
                         reason=f"{plan.name} plan limit")
    removed = list(members_over_limit(org, plan).select_related("user"))
    if not removed:
        return
    now = clock.now(org=org)
    for membership in removed:
        Membership.objects.filter(pk=membership.pk).update(removed_at=now)
        audit_record(org=org, actor=actor, action="membership.removed", target=membership,
                     before={"role": membership.role, "user": membership.user.email},
                     reason=f"Beyond the {plan.name} plan's member limit")
    seats_sync(org=org, reason=f"Fitted to the {plan.name} plan", actor=actor,
               idempotency_key=f"plan-limit:{org.pk}:{now.isoformat()}")
