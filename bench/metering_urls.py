"""The product's URLs plus two references, only in the benchmark: the baseline, a bare view doing one counter
UPDATE, and the floor, the usage endpoint's own stack (API key, scope, rate limit, parsing, answer) without
recording the event: what b would cost if recording were free."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from metering.api.parsing import event_from_json
from metering.api.views import UsageView, caller
from metering.models import UsageCounter
from metering.services import UsageAnswer


@csrf_exempt
def baseline(request: HttpRequest, counter_id: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {UsageCounter._meta.db_table} SET used = used + 1 WHERE id = %s", [counter_id]
        )
    return JsonResponse({"ok": True}, status=201)


class Floor(UsageView):
    def post(self, request: Request) -> Response:
        caller(request)
        event = event_from_json(request.data)
        answer = UsageAnswer(event.key, True, event.meter, 1, None, "ok")
        return Response(answer.as_json(), status=status.HTTP_201_CREATED)


urlpatterns = [
    path("bench/baseline/<int:counter_id>", baseline),
    path("bench/floor", Floor.as_view()),
    path("", include("billing_portal.urls")),
]
