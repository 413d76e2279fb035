"""Every API error has one shape: {"error": {"code", "message", "fields"?}} with the right status."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing_portal.core.errors import BillingError

_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_request",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid",
}


_MAX_BODY_MB = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20


def error_response(code: str, message: str, status_code: int, fields: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=status_code)


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, BillingError):
        result = error_response(exc.code, exc.message, exc.status, exc.fields)
        if exc.retry_after is not None:
            result["Retry-After"] = str(exc.retry_after)
        return result
    if isinstance(exc, RecursionError):  # JSON nested near the parser's 1,024 levels, turned into text somewhere
        return error_response("malformed_request", "The JSON nests too deeply.", status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return error_response("request_too_large", f"The body is larger than {_MAX_BODY_MB} MB.",
                              status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return None
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        result = error_response(code, "The request has invalid fields.", status.HTTP_400_BAD_REQUEST, _flatten(detail))
    else:
        result = error_response(code, str(exc.detail), response.status_code)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        result["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    for header in ("WWW-Authenticate",):
        if header in response:
            result[header] = response[header]
    return result
