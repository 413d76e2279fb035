"""Any other path under /api/ answers the API's JSON 404, never Django's HTML page."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView


class UnknownPathView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    schema = None  # not an endpoint

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise NotFound("No such API endpoint; see /api/docs/.")
