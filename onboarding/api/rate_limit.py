"""Per-client token buckets for the REST routes: a burst is allowed, a flood is answered with 429.

Kept in memory per app (one dashboard process): enough to stop one client starving the CPU-bound turn
endpoint for everyone else. Several processes behind a balancer each count separately.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

# Forget clients idle this many bucket refills: the table stays small under many one-off clients.
_IDLE_REFILLS = 2


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """`per_minute` requests per client on average, up to `burst` at once."""

    per_minute: int
    burst: int
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_sweep: float = 0.0

    @property
    def refill_seconds(self) -> float:
        """Time to refill an empty bucket completely."""
        return self.burst * 60.0 / self.per_minute

    def acquire(self, client: str, now: float | None = None) -> float:
        """Take one token for `client`: 0.0 when allowed, else the seconds until the next token."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            self._sweep(now)
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = self._buckets[client] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def _sweep(self, now: float) -> None:
        horizon = self.refill_seconds * _IDLE_REFILLS
        if now - self._last_sweep < horizon:
            return
        self._last_sweep = now
        for key in [k for k, b in self._buckets.items() if now - b.updated > horizon]:
            del self._buckets[key]


def retry_after_header(wait_seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is let in."""
    return str(max(1, math.ceil(wait_seconds)))
