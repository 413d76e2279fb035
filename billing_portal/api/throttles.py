from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.throttling import SimpleRateThrottle

from billing_portal.api.authentication import ApiKeyPrincipal

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class PerKeyRateThrottle(SimpleRateThrottle):
    """One budget per API key (or per signed-in user, or per address for anonymous calls)."""

    scope = "per_key"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            ident = f"key:{user.api_key.pk}"
        elif user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
