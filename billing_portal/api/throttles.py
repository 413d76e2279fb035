from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from billing_portal.api.authentication import ApiKeyPrincipal

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class PerKeyRateThrottle(SimpleRateThrottle):
    """One budget per API key (or per signed-in user, or per address for anonymous calls).

    The rate holds over a sliding window, estimated from two counters: this window's count plus the previous
    window's, weighted by the share of the sliding window still inside it. A call costs one cache increment
    (the previous window's count is read only when it could matter), where DRF's own throttle reads and
    rewrites the time of every call of the last window on every call (6,000 at the default rate). A refused
    call is not counted. When the cache is down, calls are let through.
    """

    scope = "per_key"

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]  # type: ignore[no-any-return]
        except KeyError as missing:
            raise ImproperlyConfigured(f"No default throttle rate set for '{self.scope}' scope") from missing

    def get_cache_key(self, request: Request, view: APIView) -> str:
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            ident = f"key:{user.api_key.pk}"
        elif user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        window, self.into = divmod(self.now, self.duration)
        counter = f"{self.key}:{int(window)}"
        count = self._count(counter)
        if count is None:  # the cache is down
            return True
        self.count = count - 1  # before this call
        share = 1 - self.into / self.duration  # of the previous window still inside the sliding one
        # The previous window held at most num_requests calls, so it can only matter past this bound.
        self.before = 0
        if count > self.num_requests * (1 - share):
            self.before = self.cache.get(f"{self.key}:{int(window) - 1}") or 0
        if self.before * share + count > self.num_requests:
            with suppress(ValueError):  # expired meanwhile: nothing to give back
                self.cache.decr(counter)
            return self.throttle_failure()
        return True

    def _count(self, counter: str) -> int | None:
        """This call's number in its window (the counter incremented), None when the cache can't say."""
        try:
            return self.cache.incr(counter)  # type: ignore[no-any-return]
        except ValueError:  # the window's first call here
            if self.cache.add(counter, 1, timeout=2 * self.duration):
                return 1
            try:
                return self.cache.incr(counter)  # type: ignore[no-any-return]
            except ValueError:
                return None

    def wait(self) -> float:
        """Seconds until one more call fits, if none comes meanwhile. It can pass the window: this window's calls
        then still weigh on the sliding estimate, as the previous window's, until their share is small enough."""
        room = self.num_requests - 1
        if self.count <= room and self.before:
            # The previous window's share shrinks as this one goes on.
            wait = (1 - (room - self.count) / self.before) * self.duration - self.into
        else:
            wait = self.duration - self.into + max(1 - room / max(self.count, 1), 0) * self.duration
        return max(wait, 0)
