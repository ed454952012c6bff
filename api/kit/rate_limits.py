"""Per-key rate limits: a token bucket for each API key, refused with 429 ``rate_limited`` and ``Retry-After``.

Each key's bucket holds up to ``burst`` tokens and refills at ``per_second`` tokens a second;
a request takes one token, or is refused when none is left, with ``Retry-After`` the whole
seconds until one is back. The limits come from :class:`credit.settings.Settings`
(``api_rate_limits`` by role, ``api_rate_limits_by_key`` for single keys).

The check runs in the key's authentication (:mod:`api.kit.auth`), right after the lookup, so
only keys that exist get a bucket (memory is bounded by the keys issued) and a refused request
claims no ``Idempotency-Key`` and touches nothing else. A request without a valid key is 401
before any bucket.

Time is :func:`credit.clock.now`, so tests move it instead of sleeping.

The buckets live in the server process. With ``credit serve --workers N`` each worker keeps
its own, and a key may send up to N times its limit in all (the load balancer spreads it);
divide the configured limits by N for a service-wide ceiling.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime

from api.kit.errors import ServiceError
from credit import clock
from credit.settings import RateLimit, Settings


class RateLimited(ServiceError):
    status_code, code = 429, "rate_limited"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime


class RateLimiter:
    """Every key's token bucket in this process.

    Parameters
    ----------
    settings
        Where the limits per role and per key are configured.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._buckets: dict[int, _Bucket] = {}
        self._limits: dict[tuple[int, str], RateLimit] = {}
        # Authentication runs in the thread pool on PostgreSQL: two requests of a key may meet here.
        self._lock = threading.Lock()

    def limit_of(self, key_id: int, role: str) -> RateLimit:
        """The key's own limit if configured, else its role's."""
        limit = self._limits.get((key_id, role))
        if limit is None:
            limit = self._settings.api_rate_limits_by_key.get(key_id) or self._settings.rate_limit_of_role(role)
            self._limits[(key_id, role)] = limit
        return limit

    def take(self, key_id: int, role: str) -> None:
        """Take one token from the key's bucket.

        Raises
        ------
        RateLimited
            The bucket is empty: 429 ``rate_limited`` with ``Retry-After``.
        """
        limit = self.limit_of(key_id, role)
        now = clock.now()
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(float(limit.burst), now)
            elapsed = (now - bucket.at).total_seconds()
            if elapsed > 0:  # a clock set back refills nothing
                bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.per_second)
                bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return
            wait = max(1, math.ceil((1 - bucket.tokens) / limit.per_second))
        raise RateLimited(
            f"This API key is over its rate limit of {limit.per_second:g} requests a second (bursts of "
            f"{limit.burst}); retry after {wait} s.",
            details={"per_second": limit.per_second, "burst": limit.burst, "retry_after": wait},
            headers={"Retry-After": str(wait)})
