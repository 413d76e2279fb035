"""Who an API call speaks for: an API key's org (with its scopes), or a signed-in member's current org."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts import permissions
from accounts.models import Membership, Organization
from billing_portal.api.models import ApiKey, Scope
from billing_portal.portal.context import PortalContext, resolve


def portal_context(request: Request) -> PortalContext | None:
    """A signed-in member's org (chosen in the session, else their first), resolved once per request."""
    http_request = request._request
    if not hasattr(http_request, "_api_portal_context"):
        user = request.user
        signed_in = user is not None and user.is_authenticated and not isinstance(request.auth, ApiKey)
        http_request._api_portal_context = resolve(http_request) if signed_in else None
    return http_request._api_portal_context  # type: ignore[no-any-return]


def request_org(request: Request) -> Organization | None:
    """The org a call acts on: the API key's, else the signed-in member's current org."""
    if isinstance(request.auth, ApiKey):
        return request.auth.org
    context = portal_context(request)
    return context.org if context else None


def request_membership(request: Request) -> Membership | None:
    """The signed-in member behind a session call; None for API-key calls."""
    context = portal_context(request)
    return context.membership if context else None


# What a signed-in member needs for each scope an API key would carry.
_MEMBER_RULES = {
    Scope.USAGE: lambda membership: True,
    Scope.BILLING_READ: permissions.can_see_billing,
    Scope.BILLING_WRITE: permissions.can_change_billing,
}


class ScopePermission(BasePermission):
    scope: str = Scope.USAGE

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey):
            return self.scope in request.auth.scopes
        context = portal_context(request)
        return context is not None and bool(_MEMBER_RULES[self.scope](context.membership))


def scope_required(scope: str) -> type[ScopePermission]:
    """A DRF permission: the key carries `scope`, or the signed-in member's role allows what it covers."""
    return type(
        f"Requires{scope.title().replace(':', '')}",
        (ScopePermission,),
        {"scope": scope, "message": f"This call needs the {scope} scope."},
    )
