"""Writes for users, orgs, memberships, invitations and spaces. Every caller goes through these."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import Truncator, slugify

from accounts import permissions
from accounts.models import Invitation, InvitationStatus, Membership, Organization, Role, Space, User
from billing_portal.audit.services import Actor, audit_record
from billing_portal.catalog.models import Interval, Plan
from billing_portal.catalog.selectors import entitlements_for, signup_plan
from billing_portal.core import clock
from billing_portal.core.errors import (
    BillingLimitReached,
    Conflict,
    InvalidInput,
    NotAllowed,
    invalid_from_validation_error,
)
from billing_portal.core.models import TestClock
from billing_portal.payments.services import customer_push, payment_method_add_test_card
from billing_portal.subscriptions.policy import capability_require
from billing_portal.subscriptions.services.seats import member_limit_check, seats_sync, subscription_locked
from billing_portal.subscriptions.services.start import subscription_start
from metering.services import credits_pools_ready

INVITATION_LIFETIME = timedelta(days=7)


EMAIL_LENGTH = User._meta.get_field("email").max_length or 0


def user_create(*, email: str, password: str | None = None, full_name: str = "") -> User:
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput("Enter a valid email address.", fields={"email": ["Enter a valid email address."]}) from None
    if len(email) > EMAIL_LENGTH:
        raise InvalidInput(f"An email address has at most {EMAIL_LENGTH} characters.", fields={"email": ["Too long."]})
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(f"A user with the email {email} already exists.", fields={"email": ["Already registered."]})
    return User.objects.create_user(email=email, password=password, full_name=full_name)


SLUG_ATTEMPTS = 5


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "org"
    slug, suffix = base, 2
    while Organization.objects.filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


def _org_insert(org: Organization, *, slug_derived: bool) -> None:
    """Save a new org; when its slug came from its name and another sign-up took it a moment ago (after the
    check), take the next free one."""
    for _ in range(SLUG_ATTEMPTS):
        try:
            with transaction.atomic():
                org.save()
            return
        except IntegrityError:
            if not slug_derived or not Organization.objects.filter(slug=org.slug).exists():
                raise
            org.slug = _unique_slug(org.name)
    raise Conflict("Too many organizations are being created with this name; try again.")


def org_create(
    *,
    name: str,
    owner: User,
    actor: Actor,
    slug: str | None = None,
    billing_email: str | None = None,
    timezone: str = "UTC",
    currency: str = "USD",
    country: str = "US",
    test_clock_at: datetime | None = None,
) -> Organization:
    with transaction.atomic():
        test_clock = (
            TestClock.objects.create(name=Truncator(name).chars(TestClock._meta.get_field("name").max_length - 6)
                                     + " clock", frozen_time=test_clock_at) if test_clock_at else None
        )
        org = Organization(
            name=name,
            slug=slug or _unique_slug(name),
            billing_email=billing_email or owner.email,
            timezone=timezone,
            currency=currency,
            country=country,
            test_clock=test_clock,
            created_at=test_clock_at or clock.now(),  # the one clock, so that backdated demo orgs signed up then
        )
        try:
            org.full_clean()
        except ValidationError as error:
            raise invalid_from_validation_error(error) from None
        _org_insert(org, slug_derived=slug is None)
        membership = Membership.objects.create(org=org, user=owner, role=Role.OWNER, joined_at=clock.now(org=org))
        audit_record(org=org, actor=actor, action="org.created", target=org, after={"owner": owner.email})
        audit_record(org=org, actor=actor, action="membership.added", target=membership, after={"role": Role.OWNER})
    return org


def org_sign_up(
    *,
    name: str,
    owner: User,
    actor: Actor,
    plan: Plan | None = None,
    interval: str = Interval.MONTH,
    trial: bool = True,
    test_card: str = "",
    **org_fields: object,
) -> Organization:
    """A new org with `owner` as OWNER, on the catalog's sign-up plan unless one is given.

    `test_card` attaches one of the local provider's test cards before the subscription starts (ops and demos).
    """
    with transaction.atomic():
        org = org_create(name=name, owner=owner, actor=actor, **org_fields)  # type: ignore[arg-type]
        if test_card:
            payment_method_add_test_card(org=org, card=test_card, actor=actor)
        subscription_start(org=org, plan=plan or signup_plan(), interval=interval, trial=trial, actor=actor)
    return org


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(*, org: Organization, email: str, role: str, by: Membership) -> tuple[Invitation, str]:
    """Invite someone; returns the invitation and its one-time token (only its hash is stored)."""
    email = email.strip().lower()
    if not permissions.can_assign_role(by, role):
        raise NotAllowed(f"You cannot invite someone as {role}.")
    capability_require(org.subscription.status, "add_members")
    if Membership.objects.active().filter(org=org, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member.", fields={"email": ["Already a member."]})
    token = secrets.token_urlsafe(32)
    now = clock.now(org=org)
    try:
        with transaction.atomic():
            # An invitation that ran out unanswered is still pending; it gives way to the new one.
            Invitation.objects.filter(
                org=org, email=email, status=InvitationStatus.PENDING, expires_at__lte=now
            ).update(status=InvitationStatus.EXPIRED, responded_at=now)
            invitation = Invitation.objects.create(
                org=org,
                email=email,
                role=role,
                token_hash=_token_hash(token),
                invited_by=by.user,
                created_at=now,
                expires_at=now + INVITATION_LIFETIME,
            )
    except IntegrityError:
        raise Conflict(f"{email} already has a pending invitation.", fields={"email": ["Already invited."]}) from None
    audit_record(org=org, actor=Actor.for_user(by.user), action="invitation.created", target=invitation,
                 after={"email": email, "role": role})
    return invitation, token


def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("org").filter(token_hash=_token_hash(token)).first()


def invitation_open(token: str) -> Invitation | None:
    """The invitation behind `token` while it can still be accepted: pending and not expired."""
    invitation = invitation_by_token(token)
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        return None
    return invitation if invitation.expires_at > clock.now(org=invitation.org) else None


def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = invitation_by_token(token)
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        raise InvalidInput("This invitation is no longer valid.", code="invitation_invalid")
    org = invitation.org
    if invitation.email != user.email.lower():
        raise NotAllowed("This invitation was sent to a different email address.")
    now = clock.now(org=org)
    if invitation.expires_at <= now:
        Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.EXPIRED, responded_at=now
        )
        raise InvalidInput("This invitation has expired; ask for a new one.", code="invitation_expired")
    with transaction.atomic():
        subscription = subscription_locked(org)  # serializes seat changes for the org
        capability_require(subscription.status, "add_members")  # under the lock that closing the account takes
        claimed = Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.ACCEPTED, responded_at=now
        )
        if not claimed:
            raise InvalidInput("This invitation is no longer valid.", code="invitation_invalid")
        if Membership.objects.active().filter(org=org, user=user).exists():
            raise Conflict("You are already a member of this organization.")
        member_limit_check(org=org, subscription=subscription)
        membership = Membership.objects.create(org=org, user=user, role=invitation.role, joined_at=now)
        audit_record(org=org, actor=Actor.for_user(user), action="membership.added", target=membership,
                     after={"role": membership.role, "invitation": invitation.pk})
        seats_sync(org=org, reason=f"{user.email} joined", idempotency_key=f"membership:{membership.pk}:added",
                   actor=Actor.for_user(user))
    if not subscription.plan.pooled_credits:  # their own credits, shown before their first call
        credits_pools_ready(org=org, member_ids=[membership.pk], actor=Actor.for_user(user))
    return membership


def invitation_revoke(*, invitation: Invitation, by: Membership) -> None:
    if not permissions.can_manage_members(by) or invitation.org_id != by.org_id:
        raise NotAllowed("You cannot revoke invitations in this organization.")
    revoked = Invitation.objects.filter(pk=invitation.pk, status=InvitationStatus.PENDING).update(
        status=InvitationStatus.REVOKED, responded_at=clock.now(org=by.org)
    )
    if revoked:
        audit_record(org=by.org, actor=Actor.for_user(by.user), action="invitation.revoked", target=invitation,
                     before={"status": InvitationStatus.PENDING}, after={"status": InvitationStatus.REVOKED})
        return
    invitation.refresh_from_db(fields=["status"])
    if invitation.status != InvitationStatus.REVOKED:  # revoking twice is the same revocation
        raise Conflict(f"The invitation for {invitation.email} was already {invitation.get_status_display().lower()}"
                       "; it stays as it is.")


def _memberships_locked(membership: Membership, by: Membership) -> tuple[Membership, Membership]:
    """Both rows re-read under lock (after the subscription's, the order ownership transfers take too): a check
    made on rows read earlier could act on an owner made a moment ago."""
    subscription_locked(membership.org)
    locked = Membership.objects.select_for_update().in_bulk([membership.pk, by.pk])
    return locked[membership.pk], locked[by.pk]


def membership_remove(*, membership: Membership, by: Membership) -> None:
    """Remove a member (or leave, when `by` is the member). The OWNER cannot leave without a transfer."""
    org = membership.org
    with transaction.atomic():
        membership, by = _memberships_locked(membership, by)
        leaving = membership.pk == by.pk
        if membership.role == Role.OWNER:
            raise NotAllowed("The owner cannot be removed; transfer ownership first.")
        if not leaving and (not by.is_active or not permissions.can_act_on_member(by, membership)):
            raise NotAllowed("You cannot remove this member.")
        removed = Membership.objects.filter(pk=membership.pk, removed_at__isnull=True).update(
            removed_at=clock.now(org=org)
        )
        if not removed:
            return
        audit_record(org=org, actor=Actor.for_user(by.user), action="membership.removed", target=membership,
                     before={"role": membership.role, "user": membership.user.email})
        seats_sync(org=org, reason=f"{membership.user.email} removed",
                   idempotency_key=f"membership:{membership.pk}:removed", actor=Actor.for_user(by.user))


def membership_change_role(*, membership: Membership, role: str, by: Membership) -> Membership:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", fields={"role": ["Choose a valid role."]})
    with transaction.atomic():
        membership, by = _memberships_locked(membership, by)
        if (not membership.is_active or not by.is_active or not permissions.can_act_on_member(by, membership)
                or not permissions.can_assign_role(by, role)):
            raise NotAllowed("You cannot give this member that role.")
        before = membership.role
        if before == role:
            return membership
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(org=membership.org, actor=Actor.for_user(by.user), action="membership.role_changed",
                     target=membership, before={"role": before}, after={"role": role})
    return membership


def membership_set_billing_read(*, membership: Membership, allowed: bool, by: Membership) -> Membership:
    with transaction.atomic():
        membership, by = _memberships_locked(membership, by)
        if not by.is_active or not permissions.can_act_on_member(by, membership):
            raise NotAllowed("You cannot change this member's billing access.")
        if membership.billing_read != allowed:
            membership.billing_read = allowed
            membership.save(update_fields=["billing_read"])
            audit_record(org=membership.org, actor=Actor.for_user(by.user),
                         action="membership.billing_read_changed", target=membership,
                         before={"billing_read": not allowed}, after={"billing_read": allowed})
    return membership


def ownership_transfer(*, org: Organization, to: Membership, by: Membership) -> None:
    """The OWNER hands the org to another active member and becomes an ADMIN; one OWNER at every instant."""
    if by.role != Role.OWNER or by.org_id != org.pk:
        raise NotAllowed("Only the owner can transfer ownership.")
    if to.org_id != org.pk or not to.is_active or to.pk == by.pk:
        raise InvalidInput("Choose another active member of this organization.", code="invalid_member")
    with transaction.atomic():
        subscription_locked(org)  # same lock order as removals and role changes
        locked = {m.pk: m for m in Membership.objects.select_for_update().filter(pk__in=[by.pk, to.pk])}
        current, new = locked[by.pk], locked[to.pk]
        if current.role != Role.OWNER or not new.is_active:
            raise Conflict("Ownership changed in the meantime; reload and try again.")
        previous_role = new.role
        current.role = Role.ADMIN
        current.save(update_fields=["role"])  # demote first: at most one OWNER is a database constraint
        new.role = Role.OWNER
        new.save(update_fields=["role"])
        audit_record(org=org, actor=Actor.for_user(by.user), action="ownership.transferred", target=new,
                     before={"owner": current.user.email, "new_owner_role": previous_role},
                     after={"owner": new.user.email})


def space_create(*, org: Organization, name: str, by: Membership | None = None) -> Space:
    limit = entitlements_for(plan=org.subscription.plan, org=org).limit_spaces
    if limit is not None and Space.objects.filter(org=org, read_only=False).count() >= limit:
        raise BillingLimitReached(f"Your plan allows {limit} spaces; upgrade to add more.", code="space_limit_reached")
    slug = slugify(name)[:60] or "space"
    if Space.objects.filter(org=org, slug=slug).exists():
        raise Conflict(f"A space named {name!r} already exists.", fields={"name": ["Already taken."]})
    return Space.objects.create(org=org, name=name, slug=slug, created_at=clock.now(org=org))


def org_update_billing_details(
    *, org: Organization, by: Membership, billing_email: str, tax_id: str, billing_address: str, country: str
) -> Organization:
    """Billing email, tax ID and address apply to every invoice finalized from now on (and to Stripe's customer)."""
    if not permissions.can_manage_members(by) or by.org_id != org.pk:
        raise NotAllowed("Only the owner or an admin can change billing details.")
    before = {"billing_email": org.billing_email, "tax_id": org.tax_id, "billing_address": org.billing_address,
              "country": org.country}
    org.billing_email, org.tax_id = billing_email.strip().lower(), tax_id.strip()
    org.billing_address, org.country = billing_address.strip(), country.strip().upper()
    try:
        org.full_clean()
    except ValidationError as error:
        raise invalid_from_validation_error(error) from None
    after = {"billing_email": org.billing_email, "tax_id": org.tax_id, "billing_address": org.billing_address,
             "country": org.country}
    if after == before:
        return org
    with transaction.atomic():
        org.save(update_fields=["billing_email", "tax_id", "billing_address", "country"])
        audit_record(org=org, actor=Actor.for_user(by.user), action="org.billing_details_changed", target=org,
                     before=before, after=after)
        transaction.on_commit(lambda: customer_push(org))
    return org


def org_set_credit_alert_threshold(*, org: Organization, pct: int, by: Membership) -> Organization:
    """Owners are emailed when the credit pool falls below `pct` percent of what the cycle made available."""
    if not permissions.can_manage_members(by) or by.org_id != org.pk:
        raise NotAllowed("Only the owner or an admin can change the credit alert.")
    if type(pct) is not int or not 1 <= pct <= 100:
        raise InvalidInput("Choose a whole percentage from 1 to 100.", fields={"threshold_pct": ["1 to 100."]})
    before = org.credit_alert_threshold_pct
    if before != pct:
        Organization.objects.filter(pk=org.pk).update(credit_alert_threshold_pct=pct)
        org.credit_alert_threshold_pct = pct
        audit_record(org=org, actor=Actor.for_user(by.user), action="org.credit_alert_changed", target=org,
                     before={"threshold_pct": before}, after={"threshold_pct": pct})
    return org
