"""Members: who is in the org, invitations (not seats), roles, ownership, and what a seat costs."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import services
from accounts.models import Invitation, InvitationStatus, Membership
from accounts.selectors import seat_count
from billing_portal.core import clock
from billing_portal.core.errors import BillingError, InvalidInput, NotAllowed
from billing_portal.portal.context import BILLING, MANAGERS, PortalContext, org_view
from billing_portal.portal.forms import CapForm, InviteForm, RoleForm
from billing_portal.portal.pages import render_page
from billing_portal.subscriptions.selectors import seat_change_cost
from metering.models import UsageCap
from metering.selectors import usage_per_member
from metering.services import cap_remove, cap_set

PAGE_SIZE = 100


def _members_page(request: HttpRequest, ctx: PortalContext, invite_form: InviteForm, *, status: int = 200,
                  invite_link: str = "", invited: str = "") -> HttpResponse:
    members = Membership.objects.active().filter(org=ctx.org).select_related("user").order_by("joined_at", "id")
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    invitations = Invitation.objects.filter(  # an expired one can no longer be accepted: not pending any more
        org=ctx.org, status=InvitationStatus.PENDING, expires_at__gt=clock.now(org=ctx.org)
    ).order_by("-created_at")
    subscription = ctx.org.subscription
    usage = usage_per_member(org=ctx.org)
    members_with_usage = [(m, usage.get(m.pk, {})) for m in page]
    caps = UsageCap.objects.filter(org=ctx.org).select_related("member__user", "space").order_by("meter", "id")
    return render_page(
        request, ctx, "portal/members.html", "members", status=status,
        page=page, members_with_usage=members_with_usage, caps=caps, cap_form=CapForm(ctx=ctx),
        invitations=invitations, invite_form=invite_form, role_form=RoleForm(),
        invite_link=invite_link, invited=invited,
        seats=seat_count(ctx.org), seat_price=subscription.seat_price(), seat_cost=seat_change_cost(subscription),
        member_limit=subscription.plan.limit_members, subscription=subscription,
    )


@org_view(BILLING)
def members(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    return _members_page(request, ctx, InviteForm())


@org_view(BILLING, writes=MANAGERS)
@require_POST
def invite(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation, token = services.invitation_create(
                org=ctx.org, email=form.cleaned_data["email"], role=form.cleaned_data["role"], by=ctx.membership)
        except BillingError as error:
            error.show_on(form)
        else:
            # Rendered, not redirected: the one-time link is shown once and never stored.
            link = request.build_absolute_uri(reverse("portal:accept-invitation", args=[token]))
            return _members_page(request, ctx, InviteForm(), invite_link=link, invited=invitation.email)
    return _members_page(request, ctx, form, status=400)


def _member_action(action: Callable[[PortalContext, Membership, HttpRequest], str]) -> Callable[..., HttpResponse]:
    """POST on one member of the current org; a BillingError becomes a message, never a 500."""

    @org_view(BILLING, writes=MANAGERS)
    @require_POST
    def view(request: HttpRequest, ctx: PortalContext, membership_id: int) -> HttpResponse:
        membership = get_object_or_404(
            Membership.objects.active().select_related("user"), pk=membership_id, org=ctx.org
        )
        try:
            messages.success(request, action(ctx, membership, request))
        except NotAllowed:
            raise  # org_view answers 403: a POST the role may not make
        except BillingError as error:
            messages.error(request, error.message)
        return redirect("portal:members")

    return view


def _remove(ctx: PortalContext, membership: Membership, request: HttpRequest) -> str:
    services.membership_remove(membership=membership, by=ctx.membership)
    return f"{membership.user.email} was removed; their seat is released."


def _change_role(ctx: PortalContext, membership: Membership, request: HttpRequest) -> str:
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise InvalidInput(f"{membership.user.email}: choose a valid role.")
    changed = services.membership_change_role(membership=membership, role=form.cleaned_data["role"],
                                              by=ctx.membership)
    return f"{changed.user.email} is now {changed.get_role_display()}."


def _billing_read(ctx: PortalContext, membership: Membership, request: HttpRequest) -> str:
    allowed = request.POST.get("allowed") == "1"
    services.membership_set_billing_read(membership=membership, allowed=allowed, by=ctx.membership)
    return f"{membership.user.email} {'can now see' if allowed else 'no longer sees'} billing."


def _transfer(ctx: PortalContext, membership: Membership, request: HttpRequest) -> str:
    services.ownership_transfer(org=ctx.org, to=membership, by=ctx.membership)
    return f"{membership.user.email} is now the owner; you are an admin."


remove = _member_action(_remove)
change_role = _member_action(_change_role)
billing_read = _member_action(_billing_read)
transfer = _member_action(_transfer)


@org_view(BILLING, writes=MANAGERS)
@require_POST
def revoke_invitation(request: HttpRequest, ctx: PortalContext, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, org=ctx.org)
    try:
        services.invitation_revoke(invitation=invitation, by=ctx.membership)
    except BillingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation for {invitation.email} was revoked.")
    return redirect("portal:members")


@org_view(BILLING, writes=MANAGERS)
@require_POST
def set_cap(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    form = CapForm(request.POST, ctx=ctx)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("portal:members")
    data = form.cleaned_data
    try:
        if data["limit"] is None:
            cap_remove(org=ctx.org, meter=data["meter"], by=ctx.membership, member=data["member"], space=data["space"])
            messages.success(request, "Cap removed.")
        else:
            cap_set(org=ctx.org, meter=data["meter"], limit=data["limit"], by=ctx.membership,
                    member=data["member"], space=data["space"])
            messages.success(request, f"Cap set: {data['limit']:,} {data['meter']} per month.")
    except BillingError as error:
        messages.error(request, error.message)
    return redirect("portal:members")
