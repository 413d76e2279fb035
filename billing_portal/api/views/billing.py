"""/api/billing: the subscription, the public plans, usage against the plan, checkout and cancellation."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization, Space
from accounts.selectors import seat_count
from billing_portal.api import serializers as shapes
from billing_portal.api.models import ApiKey, Scope
from billing_portal.api.pagination import Pagination
from billing_portal.api.permissions import scope_required
from billing_portal.api.views.callers import acting_member, caller_actor, caller_org, paginated
from billing_portal.catalog.models import Plan
from billing_portal.catalog.selectors import Entitlements, entitlements_for, public_plans
from billing_portal.core import clock
from billing_portal.core.errors import InvalidInput
from billing_portal.subscriptions.services.changes import subscription_cancel, subscription_checkout_url
from metering.selectors import current_window, quota_usage
from metering.services import session_quota

TAGS = ["billing"]
READ_ERRORS = shapes.error_responses(*shapes.AUTHENTICATED_ERRORS)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class BillingView(APIView):
    permission_classes = [scope_required(Scope.BILLING_READ)]

    @extend_schema(tags=TAGS, summary="The subscription", responses={200: shapes.BillingOut, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(shapes.BillingOut(caller_org(request).subscription).data)


class PlansView(APIView):
    """Public: no key needed, and a key sent along is not checked."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    pagination_class = Pagination

    @extend_schema(
        tags=TAGS,
        summary="Every public plan",
        auth=[],
        responses={200: shapes.PlanOut(many=True), **shapes.error_responses(404, 429)},
    )
    def get(self, request: Request) -> Response:
        return paginated(request, self, public_plans(), shapes.PlanOut)


def _resource_counts(
    org: Organization, entitlements: Entitlements, *, test_mode: bool
) -> dict[str, dict[str, int | None]]:
    """Members (billed seats), writable spaces and open sessions, each against the plan's limit."""
    sessions = session_quota(org=org, test_mode=test_mode, entitlements=entitlements)
    return {
        "members": {"used": seat_count(org), "limit": entitlements.limit_members},
        "spaces": {
            "used": Space.objects.filter(org=org, read_only=False).count(),
            "limit": entitlements.limit_spaces,
        },
        "concurrent_sessions": {"used": sessions.active, "limit": sessions.limit},
    }


class UsageSummaryView(APIView):
    permission_classes = [scope_required(Scope.BILLING_READ)]

    @extend_schema(
        tags=TAGS, summary="Usage against the plan", responses={200: shapes.UsageSummaryOut, **READ_ERRORS}
    )
    def get(self, request: Request) -> Response:
        org = caller_org(request)
        window = current_window(org)
        test_mode = isinstance(request.auth, ApiKey) and request.auth.is_test
        entitlements = entitlements_for(plan=org.subscription.plan, org=org)
        summary = {
            "tier": org.subscription.plan.code,
            "period": {"start": window.start, "end": window.end},
            "usage": {
                meter.meter: {
                    "used": meter.used,
                    "limit": meter.quota,
                    "remaining": meter.remaining,
                    "state": meter.state,
                }
                for meter in quota_usage(org=org, entitlements=entitlements)
            },
            "resource_counts": _resource_counts(org, entitlements, test_mode=test_mode),
        }
        return Response(shapes.UsageSummaryOut(summary).data)


class CheckoutView(APIView):
    permission_classes = [scope_required(Scope.BILLING_WRITE)]

    @extend_schema(
        tags=TAGS,
        summary="Start a plan change",
        description="Answers a URL to send the owner's browser to. Enterprise answers 403 `contact_sales`; "
        "test keys answer 403 `live_key_required`.",
        request=shapes.CheckoutIn,
        examples=[
            OpenApiExample(
                "Upgrade to Business, monthly",
                request_only=True,
                value={
                    "tier": "business",
                    "billing_interval": "month",
                    "success_url": "https://app.example.com/billing/done",
                    "cancel_url": "https://app.example.com/billing",
                },
            )
        ],
        responses={200: shapes.CheckoutOut, **shapes.error_responses(400, *shapes.AUTHENTICATED_ERRORS, 503)},
    )
    def post(self, request: Request) -> Response:
        org = caller_org(request)
        by = acting_member(request, org)
        data = _valid(shapes.CheckoutIn, request)
        plan = Plan.objects.filter(code=data["tier"]).first()
        if plan is None:
            raise InvalidInput("No such plan.", fields={"tier": ["Choose a tier from /api/billing/plans."]})
        url = subscription_checkout_url(
            org=org,
            plan=plan,
            interval=data["billing_interval"],
            by=by,
            success_url=data["success_url"],
            cancel_url=data["cancel_url"],
        )
        return Response(shapes.CheckoutOut({"url": request.build_absolute_uri(url)}).data)


class CancelView(APIView):
    permission_classes = [scope_required(Scope.BILLING_WRITE)]

    @extend_schema(
        tags=TAGS,
        summary="Cancel at the end of the period",
        description="The organization keeps its plan until the period ends, then moves to Free. "
        "A subscription paused for want of a payment method moves to Free at once.",
        request=shapes.CancelIn,
        responses={200: shapes.CancelOut, **shapes.error_responses(400, *shapes.AUTHENTICATED_ERRORS, 503)},
    )
    def post(self, request: Request) -> Response:
        org = caller_org(request)
        by = acting_member(request, org)
        data = _valid(shapes.CancelIn, request)
        reason = data.get("reason", "")
        outcome = subscription_cancel(org=org, by=by, actor=caller_actor(request), reason=reason)
        if outcome.scheduled_for:
            answer = {
                "message": "Subscription will be canceled at end of billing period",
                "effective_at": outcome.scheduled_for,
            }
        else:
            answer = {
                "message": "Subscription canceled; the organization is on the Free plan now",
                "effective_at": clock.now(org=org),
            }
        return Response(shapes.CancelOut({"success": True, **answer}).data)
