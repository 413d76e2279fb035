"""The product's URLs plus the baseline: a bare view doing one counter UPDATE. Only in the benchmark."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from metering.models import UsageCounter


@csrf_exempt
def baseline(request: HttpRequest, counter_id: int) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {UsageCounter._meta.db_table} SET used = used + 1 WHERE id = %s", [counter_id]
        )
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [
    path("bench/baseline/<int:counter_id>", baseline),
    path("", include("billing_portal.urls")),
]
