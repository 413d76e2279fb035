from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Membership, Organization, Role, User


def seat_count(org: Organization) -> int:
    """Billed seats: active accepted memberships. Pending invitations are not seats."""
    return Membership.objects.active().filter(org=org).count()


def membership_for(*, user: User, org: Organization) -> Membership | None:
    return Membership.objects.active().filter(user=user, org=org).select_related("org", "user").first()


def owner_of(org: Organization) -> Membership:
    return Membership.objects.active().select_related("user").get(org=org, role=Role.OWNER)


def orgs_of(user: User) -> QuerySet[Organization]:
    return Organization.objects.filter(
        memberships__user=user, memberships__removed_at__isnull=True, purged_at__isnull=True
    ).order_by("name")
