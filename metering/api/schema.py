"""OpenAPI shapes of the /api/v2 endpoints. Documentation only: the hot path parses by hand (parsing.py)."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema_field,
)
from rest_framework import serializers

from billing_portal.api.serializers import AUTHENTICATED_ERRORS, ErrorBodyOut, ErrorOut, error_responses
from metering.services.usage import MAX_QUANTITY

USAGE_STATES = ["ok", "grace"]
SESSION_STATUSES = ["active", "ended", "expired"]


class UsageEventIn(serializers.Serializer):
    id = serializers.CharField(max_length=200, help_text="Your idempotency key.")
    meter = serializers.CharField(help_text="tool_calls, ai_tokens, api_requests or storage (MB-days)")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    user = serializers.EmailField(required=False, help_text="A member's email.")
    space = serializers.SlugField(required=False)
    model = serializers.CharField(required=False, max_length=100)
    agent = serializers.CharField(required=False, max_length=100)
    integration = serializers.CharField(required=False, max_length=100)
    success = serializers.BooleanField(default=True)
    byok = serializers.BooleanField(default=False)
    timestamp = serializers.DateTimeField(required=False, help_text="Default now; at most 35 days back.")


class UsageAnswerOut(serializers.Serializer):
    id = serializers.CharField()
    counted = serializers.BooleanField()
    meter = serializers.CharField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True)
    remaining = serializers.IntegerField(allow_null=True)
    state = serializers.ChoiceField(choices=USAGE_STATES)


class UsageBatchIn(serializers.Serializer):
    events = UsageEventIn(many=True)


class UsageBatchAnsweredOut(UsageAnswerOut):
    status = serializers.IntegerField(help_text="201, or 200 for a repeat, as alone.")


class UsageBatchRefusedOut(serializers.Serializer):
    status = serializers.IntegerField(help_text="400 or 403, as alone.")
    id = serializers.JSONField(allow_null=True, help_text="The event's id as sent (null for a non-object).")
    error = ErrorBodyOut()


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="UsageBatchItemOut",
        serializers=[UsageBatchAnsweredOut, UsageBatchRefusedOut],
        resource_type_field_name=None,
    )
)
class UsageBatchItemField(serializers.JSONField):
    """Each event's own answer, or its own error."""


class UsageBatchOut(serializers.Serializer):
    results = serializers.ListField(child=UsageBatchItemField(), help_text="One per event, in order.")


class SessionOut(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=SESSION_STATUSES)


class SlotsOut(serializers.Serializer):
    limit = serializers.IntegerField(allow_null=True)
    active = serializers.IntegerField()
    remaining = serializers.IntegerField(allow_null=True)


class QuotaOut(serializers.Serializer):
    limit = serializers.IntegerField(allow_null=True)
    used = serializers.IntegerField()
    remaining = serializers.IntegerField(allow_null=True)
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()


class CreditsOut(serializers.Serializer):
    balance = serializers.IntegerField()
    allotment = serializers.IntegerField()
    topups = serializers.IntegerField()
    next_refill_at = serializers.DateTimeField()


# --- Examples, and what each endpoint answers ---------------------------------------------------

USAGE_EVENT_EXAMPLES = [
    OpenApiExample(
        "One tool call", value={"id": "call-7f3a", "meter": "tool_calls", "quantity": 1}, request_only=True
    ),
    OpenApiExample(
        "Tokens of a model call",
        request_only=True,
        value={"id": "call-7f3b", "meter": "ai_tokens", "quantity": 1200, "model": "gpt-4o"},
    ),
]

READ_ERRORS = error_responses(*AUTHENTICATED_ERRORS)
RECORD_ERRORS = error_responses(400, 402, *AUTHENTICATED_ERRORS)

USAGE_EVENT_ANSWERS = {
    201: OpenApiResponse(UsageAnswerOut, description="Recorded."),
    200: OpenApiResponse(UsageAnswerOut, description="A repeated id: the original answer, nothing recorded."),
    **RECORD_ERRORS,
}
USAGE_BATCH_ANSWERS = {200: UsageBatchOut, **RECORD_ERRORS}
SESSION_OPEN_ANSWERS = {
    201: SessionOut,
    **error_responses(402, *AUTHENTICATED_ERRORS),
    429: OpenApiResponse(
        ErrorOut,
        description="All the plan's concurrent sessions are in use "
        "(`concurrency_limit_reached`), or too many requests.",
    ),
}
SESSION_END_ANSWERS = {200: SessionOut, **error_responses(404, *AUTHENTICATED_ERRORS)}
QUOTA_ANSWERS = {200: QuotaOut, **error_responses(404, *AUTHENTICATED_ERRORS)}
