"""Per-member and per-space monthly caps, and per-user credit limits on plans with custom limits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from accounts import permissions
from accounts.models import Membership, Role, Space, User
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.models import Meter
from billing_portal.catalog.selectors import entitlements_for
from billing_portal.core import clock
from billing_portal.core.errors import InvalidInput, NotAllowed
from metering.models import UsageCap
from metering.models.usage import CREDITS_METER
from metering.services.cycle import credits_cycle_reset
from metering.services.rules import MAX_LIMIT
from metering.services.windows import cap_limit_apply, window_for

if TYPE_CHECKING:
    from accounts.models import Organization


def _check(
    *, org: Organization, meter: str, by: Membership | User, member: Membership | None, space: Space | None,
    setting: bool,
) -> Actor:
    """Who may set (or remove) this cap, and on what; returns the actor to record."""
    is_staff = isinstance(by, User) and by.is_staff
    if not is_staff and not (
        isinstance(by, Membership)
        and by.org_id == org.pk
        and by.is_active
        and permissions.can_manage_members(by)
    ):
        raise NotAllowed("Only owners and admins set usage caps.")
    if (member is None) == (space is None):
        raise InvalidInput(
            "A cap is for one member or one space.", fields={"member": ["Choose a member or a space."]}
        )
    if (member is not None and member.org_id != org.pk) or (space is not None and space.org_id != org.pk):
        raise InvalidInput("That member or space belongs to another organization.")
    # As for roles and removals: an ADMIN caps MEMBERs and VIEWERs, not the OWNER, another ADMIN or themselves.
    if (member is not None and not is_staff and by.role != Role.OWNER  # type: ignore[union-attr]
            and not permissions.can_act_on_member(by, member)):  # type: ignore[arg-type]
        raise NotAllowed("Admins cap members and viewers only; the owner caps admins.")
    if meter == CREDITS_METER:
        if member is None:
            raise InvalidInput(
                "Credit limits are per user.", fields={"member": ["Required for credit limits."]}
            )
        # A limit set before a move to a plan without the feature can still be removed.
        if setting and "custom_limits" not in entitlements_for(plan=org.subscription.plan, org=org).features:
            raise NotAllowed(
                "Per-user credit limits need a plan with custom limits.", code="feature_not_available"
            )
        if not is_staff and by.role != Role.OWNER:  # type: ignore[union-attr]
            raise NotAllowed("Only the owner sets per-user credit limits.")
    elif not Meter.objects.filter(code=meter).exists():
        raise InvalidInput(f"Unknown meter {meter!r}.", fields={"meter": ["Unknown meter."]})
    return Actor.for_user(by if isinstance(by, User) else by.user)


def _current_counter_limit(org: Organization, cap: UsageCap, limit: int | None) -> None:
    """Apply the cap to this window's counter now, keeping what was counted."""
    cap_limit_apply(cap=cap, window=window_for(org, org.subscription, clock.now(org=org)), limit=limit)


def cap_set(
    *,
    org: Organization,
    meter: str,
    limit: int,
    by: Membership | User,
    member: Membership | None = None,
    space: Space | None = None,
) -> UsageCap:
    actor = _check(org=org, meter=meter, by=by, member=member, space=space, setting=True)
    if type(limit) is not int or not 0 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            f"A cap is a whole number from 0 to {MAX_LIMIT:,}.", fields={"limit": [f"0 to {MAX_LIMIT:,}."]}
        )
    credits_cycle_reset(org=org, actor=actor)
    with transaction.atomic():
        cap, _ = UsageCap.objects.update_or_create(
            org=org,
            meter=meter,
            member=member,
            space=space,
            defaults={"limit": limit, "set_by": actor.user, "updated_at": clock.now(org=org)},
        )
        _current_counter_limit(org, cap, limit)
        audit_record(
            org=org,
            actor=actor,
            action="usage_cap.set",
            target=cap,
            after={"meter": meter, "limit": limit, "subject": cap.subject},
        )
    return cap


def cap_remove(
    *,
    org: Organization,
    meter: str,
    by: Membership | User,
    member: Membership | None = None,
    space: Space | None = None,
) -> None:
    actor = _check(org=org, meter=meter, by=by, member=member, space=space, setting=False)
    with transaction.atomic():
        cap = UsageCap.objects.filter(org=org, meter=meter, member=member, space=space).first()
        if cap is None:
            return
        _current_counter_limit(org, cap, None)
        cap.delete()
        audit_record(
            org=org, actor=actor, action="usage_cap.removed", after={"meter": meter, "subject": cap.subject}
        )
