"""Who a billing call speaks for, who it acts as, and how it is recorded in the audit trail."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.models import Membership, Organization
from accounts.selectors import owner_of
from billing_portal.api.models import ApiKey
from billing_portal.api.permissions import request_membership, request_org
from billing_portal.audit.services import Actor
from billing_portal.core.errors import NotAllowed


def caller_org(request: Request) -> Organization:
    org = request_org(request)
    if org is None:
        raise NotAllowed("You are not a member of any organization.")
    return org


def caller_actor(request: Request) -> Actor:
    if isinstance(request.auth, ApiKey):
        return Actor.api_key(request.auth.prefix)
    return Actor.for_user(request.user)


def acting_member(request: Request, org: Organization) -> Membership:
    """Whom a billing change is made by: the signed-in member, or for a live key the owner who granted it
    billing:write (so the owner's rules apply: self-serve plans only). Test keys never change billing."""
    if isinstance(request.auth, ApiKey):
        if request.auth.is_test:
            raise NotAllowed("Test keys cannot change billing; use a live key.", code="live_key_required")
        return owner_of(org)
    membership = request_membership(request)
    if membership is None:
        raise NotAllowed("You are not a member of any organization.")
    return membership


def paginated(
    request: Request, view: Any, items: Any, serializer_class: type[BaseSerializer[Any]]
) -> Response:
    """One page of `items` in the list shape every list endpoint shares: count, next, previous, results."""
    paginator: BasePagination = view.pagination_class()
    page = paginator.paginate_queryset(items, request, view=view)
    results = serializer_class(page, many=True, context={"request": request}).data
    return paginator.get_paginated_response(results)
