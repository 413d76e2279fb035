"""The /api/v2 usage, quota, session and credit endpoints: parse, call one service or selector, answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Membership, Organization
from billing_portal.api.models import ApiKey, Scope
from billing_portal.api.permissions import request_membership, request_org, scope_required
from billing_portal.core import clock
from billing_portal.core.errors import BillingError, InvalidInput, NotAllowed
from metering import selectors
from metering.api import schema
from metering.api.parsing import event_from_json
from metering.services import (
    UsageAnswer,
    UsageOutcome,
    session_end,
    session_open,
    session_quota,
    usage_record,
)
from metering.services.usage import MAX_EVENTS

TOKENS_METER = "ai_tokens"


@dataclass(frozen=True)
class Caller:
    org: Organization
    test_mode: bool
    api_key_id: int | None
    member: Membership | None


def caller(request: Request) -> Caller:
    org = request_org(request)
    if org is None:
        raise NotAllowed("You are not a member of any organization.")
    key = request.auth if isinstance(request.auth, ApiKey) else None
    return Caller(org, key is not None and key.is_test, key.pk if key else None, request_membership(request))


class UsageView(APIView):
    permission_classes = [scope_required(Scope.USAGE)]


def _record(who: Caller, events: list[Any]) -> list[UsageOutcome]:
    return usage_record(
        org=who.org,
        events=events,
        test_mode=who.test_mode,
        api_key_id=who.api_key_id,
        default_member_id=who.member.pk if who.member else None,
    )


class UsageEventView(UsageView):
    @extend_schema(tags=["usage"], request=schema.UsageEventIn, responses=schema.USAGE_EVENT_ANSWERS,
                   examples=schema.USAGE_EVENT_EXAMPLES)
    def post(self, request: Request) -> Response:
        who = caller(request)
        outcome = _record(who, [event_from_json(request.data)])[0]
        if isinstance(outcome, BillingError):
            raise outcome
        return Response(
            outcome.as_json(), status=status.HTTP_200_OK if outcome.replayed else status.HTTP_201_CREATED
        )


def _batch_item(outcome: UsageOutcome, key: Any) -> dict[str, Any]:
    if isinstance(outcome, UsageAnswer):
        return {"status": 200 if outcome.replayed else 201, **outcome.as_json()}
    error: dict[str, Any] = {"code": outcome.code, "message": outcome.message}
    if outcome.fields:
        error["fields"] = outcome.fields
    return {"status": outcome.status, "id": key, "error": error}


class UsageBatchView(UsageView):
    """Up to 1,000 events; every event gets the answer (or error) it would get alone, in order."""

    @extend_schema(tags=["usage"], request=schema.UsageBatchIn, responses=schema.USAGE_BATCH_ANSWERS)
    def post(self, request: Request) -> Response:
        who = caller(request)
        raw = request.data.get("events") if isinstance(request.data, dict) else None
        if not isinstance(raw, list) or not 0 < len(raw) <= MAX_EVENTS:  # counted before any is parsed or dropped
            raise InvalidInput(
                f'Send {{"events": [...]}} with 1 to {MAX_EVENTS:,} events.',
                fields={"events": [f"1 to {MAX_EVENTS:,} events."]},
            )
        parsed: list[Any] = []
        for item in raw:
            try:
                parsed.append(event_from_json(item))
            except InvalidInput as error:
                parsed.append(error)
        valid = [item for item in parsed if not isinstance(item, BillingError)]
        recorded = iter(_record(who, valid) if valid else [])
        results = [
            _batch_item(
                item if isinstance(item, BillingError) else next(recorded),
                raw[index].get("id") if isinstance(raw[index], dict) else None,
            )
            for index, item in enumerate(parsed)
        ]
        return Response({"results": results})


class SessionOpenView(UsageView):
    @extend_schema(tags=["sessions"], request=None, responses=schema.SESSION_OPEN_ANSWERS)
    def post(self, request: Request) -> Response:
        who = caller(request)
        session = session_open(
            org=who.org, test_mode=who.test_mode, api_key_id=who.api_key_id, member=who.member
        )
        return Response({"id": str(session.pk), "status": "active"}, status=status.HTTP_201_CREATED)


class SessionEndView(UsageView):
    @extend_schema(tags=["sessions"], request=None, responses=schema.SESSION_END_ANSWERS)
    def post(self, request: Request, session_id: UUID) -> Response:
        who = caller(request)
        session = session_end(org=who.org, session_id=session_id, test_mode=who.test_mode)
        return Response({"id": str(session.pk), "status": session.status(clock.now(org=who.org))})


class SessionQuotaView(UsageView):
    @extend_schema(tags=["sessions"], responses={200: schema.SlotsOut, **schema.READ_ERRORS})
    def get(self, request: Request) -> Response:
        who = caller(request)
        return Response(session_quota(org=who.org, test_mode=who.test_mode).as_json())


class QuotaView(UsageView):
    @extend_schema(tags=["quota"], responses=schema.QUOTA_ANSWERS)
    def get(self, request: Request, meter: str = TOKENS_METER) -> Response:
        return Response(selectors.quota_for(org=caller(request).org, meter=meter).as_json())


class CreditsView(UsageView):
    @extend_schema(tags=["credits"], responses={200: schema.CreditsOut, **schema.READ_ERRORS})
    def get(self, request: Request) -> Response:
        who = caller(request)
        return Response(selectors.credit_balance(org=who.org, member=who.member).as_json())
