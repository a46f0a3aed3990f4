"""Per-caller rate limits in fixed windows, answered as LaunchDarkly answers them.

`API_RATE_LIMIT` is "<requests>/<seconds>s" (LaunchDarkly's windows are 10 s), empty
for none. Counts live in Django's cache: per process with the default local-memory
cache, shared when the cache is (e.g. Redis) on several app servers.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from .authentication import caller_token

RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*s\s*$")


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


def configured_rate() -> Rate | None:
    text = getattr(settings, "API_RATE_LIMIT", "")
    if not text:
        return None
    match = RATE.match(text)
    if not match or int(match[1]) < 1 or int(match[2]) < 1:
        raise ImproperlyConfigured(
            f"API_RATE_LIMIT={text!r}: expected <requests>/<seconds>s, e.g. 300/10s"
        )
    return Rate(int(match[1]), int(match[2]))


class TokenRateThrottle(BaseThrottle):
    """Counts requests per token (or signed-in user, or address) in fixed windows.

    Leaves `request.ratelimit_headers` for the view to send on every response.
    """

    def allow_request(self, request, view) -> bool:
        rate = configured_rate()
        if rate is None:
            return True
        now = time.time()
        window_start = int(now // rate.seconds) * rate.seconds
        key = f"deployments:ratelimit:{self._caller(request)}:{window_start}"
        cache.add(key, 0, timeout=rate.seconds + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # evicted between add and incr: count this one afresh
            cache.set(key, 1, timeout=rate.seconds + 1)
            count = 1
        reset_at = window_start + rate.seconds
        self.wait_seconds = max(1, math.ceil(reset_at - now))
        request.ratelimit_headers = {
            "X-Ratelimit-Route-Remaining": str(max(0, rate.requests - count)),
            "X-Ratelimit-Reset": str(reset_at * 1000),
        }
        if count > rate.requests:
            request.ratelimit_headers["Retry-After"] = str(self.wait_seconds)
            return False
        return True

    def wait(self) -> float | None:
        return getattr(self, "wait_seconds", None)

    def _caller(self, request) -> str:
        token = caller_token(request)
        if token is not None:
            return f"token:{token.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"address:{self.get_ident(request)}"
