"""Resolves the signed-in user's current org and membership for portal views, and guards access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import permissions
from accounts.models import Membership, Organization

SESSION_KEY = "current_org_id"


@dataclass
class PortalContext:
    org: Organization
    membership: Membership
    memberships: list[Membership]

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
    return PortalContext(org=current.org, membership=current, memberships=memberships)


AccessRule = Callable[[PortalContext], bool]
MEMBER: AccessRule = lambda ctx: True  # noqa: E731
BILLING: AccessRule = lambda ctx: ctx.can_see_billing  # noqa: E731
MEMBERS_ADMIN: AccessRule = lambda ctx: ctx.can_manage_members  # noqa: E731


def org_view(rule: AccessRule) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Sign-in required; the view gets `ctx` and answers 403 when the membership fails `rule`."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            ctx = resolve(request)
            if ctx is None:
                return redirect("portal:no-org")
            if not rule(ctx):
                raise PermissionDenied("Your role in this organization cannot open this page.")
            request.portal = ctx  # type: ignore[attr-defined]
            return view(request, ctx, *args, **kwargs)

        return wrapper

    return decorate
