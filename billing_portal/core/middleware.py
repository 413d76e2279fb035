from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from billing_portal.core import requestid

logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Accept or mint an X-Request-Id, bind it for logs and audit rows, and echo it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = requestid.accept_or_generate(request.headers.get("X-Request-Id"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = requestid.bind(request_id)
        try:
            response = self.get_response(request)
        finally:
            requestid.reset(token)
        response["X-Request-Id"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """While PostgreSQL is down or restarting, answer a clean 503 instead of a 500; Django reconnects by itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError) or (
            isinstance(exception, DatabaseError) and "connection" in str(exception).lower()
        ):
            logger.warning("database unavailable: %s", type(exception).__name__)
            response = JsonResponse(
                {"error": {"code": "unavailable", "message": "The service is briefly unavailable; retry shortly."}},
                status=503,
            )
            response["Retry-After"] = "5"
            return response
        return None
