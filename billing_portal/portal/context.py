"""Resolves the signed-in user's current org and membership for portal views, and guards access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from accounts import permissions
from accounts.models import Membership, Organization
from billing_portal.audit.services import Actor
from billing_portal.core.errors import NotAllowed

SESSION_KEY = "current_org_id"
# Every portal form names the org its page was for: the session's current org can change in another tab between
# rendering a form and sending it, and a form must never act on an org its page did not show.
FORM_ORG_FIELD = "org_id"


@dataclass
class PortalContext:
    org: Organization
    membership: Membership
    memberships: list[Membership]

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.membership.user)

    @property
    def can_see_billing(self) -> bool:
        return permissions.can_see_billing(self.membership)

    @property
    def can_change_billing(self) -> bool:
        return permissions.can_change_billing(self.membership)

    @property
    def can_manage_members(self) -> bool:
        return permissions.can_manage_members(self.membership)


def resolve(request: HttpRequest) -> PortalContext | None:
    """The org chosen in the session (or the user's first), with the user's active membership in it."""
    memberships = list(
        Membership.objects.active()
        .filter(user=request.user, org__purged_at__isnull=True)
        .select_related("org__subscription__plan", "org__test_clock")
        .order_by("org__name")
    )
    if not memberships:
        return None
    chosen = request.session.get(SESSION_KEY)
    current = next((m for m in memberships if m.org_id == chosen), memberships[0])
    # Prices and quotas of the current plan are read all over the pages: load them once.
    prefetch_related_objects([current.org.subscription.plan], "prices", "quotas__meter")
    return PortalContext(org=current.org, membership=current, memberships=memberships)


AccessRule = Callable[[PortalContext], bool]
MEMBER: AccessRule = lambda ctx: True  # noqa: E731
BILLING: AccessRule = lambda ctx: ctx.can_see_billing  # noqa: E731
MANAGERS: AccessRule = lambda ctx: ctx.can_manage_members  # noqa: E731  (OWNER and ADMIN)
OWNER: AccessRule = lambda ctx: ctx.can_change_billing  # noqa: E731
KEY_ADMINS: AccessRule = lambda ctx: permissions.can_manage_api_keys(ctx.membership)  # noqa: E731


def org_view(
    rule: AccessRule, *, writes: AccessRule | None = None
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Sign-in required; the view gets `ctx` and answers 403 when the membership fails `rule` (or, for a POST,
    `writes`): a role that may not change something gets a 403, not a page that pretends to try."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            ctx = resolve(request)
            if ctx is None:
                return redirect("portal:no-org")
            if not rule(ctx):
                raise PermissionDenied("Your role in this organization cannot open this page.")
            if request.method == "POST" and writes is not None and not writes(ctx):
                raise PermissionDenied("Your role in this organization cannot make this change.")
            if request.method == "POST" and request.POST.get(FORM_ORG_FIELD, str(ctx.org.pk)) != str(ctx.org.pk):
                messages.error(request, f"That form was for another organization; you have switched to "
                                        f"{ctx.org.name} since. Nothing was changed.")
                return redirect("portal:home")
            request.portal = ctx  # type: ignore[attr-defined]
            try:
                with timezone.override(ctx.org.tz):  # dates on the page are the org's days, as its periods are
                    return view(request, ctx, *args, **kwargs)
            except NotAllowed as error:
                raise PermissionDenied(error.message) from error

        return wrapper

    return decorate
