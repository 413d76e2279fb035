"""Who may do what inside an org: one function per rule, used by the portal, the API and the services."""

from __future__ import annotations

from accounts.models import Membership, Role


def can_see_billing(membership: Membership | None) -> bool:
    return membership is not None and (membership.role in (Role.OWNER, Role.ADMIN) or membership.billing_read)


def can_change_billing(membership: Membership | None) -> bool:
    """Plan, interval, cancellation and purchases: the OWNER only."""
    return membership is not None and membership.role == Role.OWNER


def can_manage_members(membership: Membership | None) -> bool:
    return membership is not None and membership.role in (Role.OWNER, Role.ADMIN)


def can_manage_api_keys(membership: Membership | None) -> bool:
    return can_manage_members(membership)


def can_assign_role(actor: Membership, role: str) -> bool:
    """Nobody assigns OWNER (ownership is transferred); only the OWNER makes or unmakes ADMINs."""
    if role == Role.OWNER or not can_manage_members(actor):
        return False
    return role != Role.ADMIN or actor.role == Role.OWNER


def can_act_on_member(actor: Membership, target: Membership) -> bool:
    """The OWNER acts on anyone else; an ADMIN on MEMBERs and VIEWERs."""
    if target.role == Role.OWNER or actor.pk == target.pk:
        return False
    if actor.role == Role.OWNER:
        return True
    return actor.role == Role.ADMIN and target.role in (Role.MEMBER, Role.VIEWER)
