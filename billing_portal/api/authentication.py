from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from billing_portal.api.keys import api_key_lookup, api_key_touch
from billing_portal.api.models import ApiKey


@dataclass
class ApiKeyPrincipal:
    """`request.user` for calls made with an API key: the org speaks, not a person."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    pk: None = None

    def __str__(self) -> str:
        return f"api-key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer bp_live_...`. No header lets session auth try; a bad key is a 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme != self.keyword or not secret.strip():
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Bearer <key>'.")
        key = api_key_lookup(secret.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        api_key_touch(key)
        return ApiKeyPrincipal(api_key=key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Signed-in browser sessions may call the same endpoints (with CSRF on unsafe methods)."""
