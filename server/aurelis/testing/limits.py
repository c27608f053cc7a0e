"""Rate-limit emulation for the loopback model server: the free tier's windows, per model.

Sliding windows of admitted requests per minute and per day, plus a concurrency cap; a
refused request gets what GitHub Models sends (429, ``Retry-After``, ``x-ratelimit-type``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from aurelis.testing.script import ANY_MODEL

__all__ = [
    "RATE_LIMIT_CONCURRENT",
    "RATE_LIMIT_PER_DAY",
    "RATE_LIMIT_PER_MINUTE",
    "RateLimit",
    "RateLimits",
    "Refusal",
]

#: Values of the ``x-ratelimit-type`` header on a 429 sent by ``enforce_rate_limit``.
RATE_LIMIT_PER_MINUTE = "UserByModelByMinute"
RATE_LIMIT_PER_DAY = "UserByModelByDay"
RATE_LIMIT_CONCURRENT = "concurrent"

_MINUTE = 60.0
_DAY = 86_400.0

LimitSpec = tuple[int | None, int | None, int | None]  # per minute, per day, concurrent


@dataclass
class Refusal:
    """Why a request was refused and how long the client should wait."""

    limit_type: str
    limit: int
    window: float | None
    wait: float

    @property
    def retry_after(self) -> int:
        # Whole seconds, never 0: a client honouring "Retry-After: 0" would spin.
        return max(1, math.ceil(self.wait))

    @property
    def message(self) -> str:
        if self.window is None:
            return f"Too many concurrent requests (limit {self.limit}). Please retry later."
        return (
            f"Rate limit of {self.limit} per {int(self.window)}s exceeded for "
            f"{self.limit_type}. Please wait {self.retry_after} seconds before retrying."
        )


@dataclass
class RateLimit:
    """Sliding windows of admitted requests for one model, plus its in-flight count."""

    per_minute: int | None
    per_day: int | None
    concurrent: int | None
    minute_hits: deque[float] = field(default_factory=deque)
    day_hits: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    scale: float = 1.0  # multiplies both windows (ModelServer.rate_window_scale)

    def refusal(self, now: float) -> Refusal | None:
        self._expire(now)
        # The day window first: its wait is the longer one, so a retry after it succeeds.
        if self.per_day is not None and len(self.day_hits) >= self.per_day:
            wait = _wait(self.day_hits, _DAY * self.scale, now)
            return Refusal(RATE_LIMIT_PER_DAY, self.per_day, _DAY * self.scale, wait)
        if self.per_minute is not None and len(self.minute_hits) >= self.per_minute:
            wait = _wait(self.minute_hits, _MINUTE * self.scale, now)
            return Refusal(RATE_LIMIT_PER_MINUTE, self.per_minute, _MINUTE * self.scale, wait)
        if self.concurrent is not None and self.in_flight >= self.concurrent:
            # No way to know when a slot frees; one second is what a client should wait.
            return Refusal(RATE_LIMIT_CONCURRENT, self.concurrent, None, 1.0)
        return None

    def admit(self, now: float) -> None:
        self.minute_hits.append(now)
        self.day_hits.append(now)
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1

    def remaining(self) -> int | None:
        if self.per_minute is not None:
            return max(0, self.per_minute - len(self.minute_hits))
        if self.per_day is not None:
            return max(0, self.per_day - len(self.day_hits))
        if self.concurrent is not None:
            return max(0, self.concurrent - self.in_flight)
        return None

    def _expire(self, now: float) -> None:
        while self.minute_hits and self.minute_hits[0] <= now - _MINUTE * self.scale:
            self.minute_hits.popleft()
        while self.day_hits and self.day_hits[0] <= now - _DAY * self.scale:
            self.day_hits.popleft()


def _wait(hits: deque[float], window: float, now: float) -> float:
    # A limit of 0 has no hits to age out: the caller waits a whole window.
    return hits[0] + window - now if hits else window


class RateLimits:
    """The limits enforced per model (``"*"``: each model without its own); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, LimitSpec] = {}
        self._limiters: dict[str, RateLimit] = {}

    def enforce(
        self, model: str, per_minute: int | None, per_day: int | None, concurrent: int | None
    ) -> None:
        """Set the limits of ``model``; all None removes them. Counting starts afresh."""
        with self._lock:
            if per_minute is None and per_day is None and concurrent is None:
                self._specs.pop(model, None)
            else:
                self._specs[model] = (per_minute, per_day, concurrent)
            # A "*" change touches every model that inherits it.
            for name in list(self._limiters):
                if name == model or (model == ANY_MODEL and name not in self._specs):
                    del self._limiters[name]

    def admit(self, model: str, scale: float) -> tuple[RateLimit | None, Refusal | None]:
        """Count a request for ``model``: (its limiter, to release later) or a refusal."""
        with self._lock:
            spec = self._specs.get(model) or self._specs.get(ANY_MODEL)
            if spec is None:
                return None, None
            limiter = self._limiters.get(model)
            if limiter is None:
                limiter = self._limiters[model] = RateLimit(*spec, scale=scale)
            now = time.monotonic()
            refusal = limiter.refusal(now)
            if refusal is not None:
                return None, refusal
            limiter.admit(now)
            return limiter, None

    def release(self, limiter: RateLimit) -> None:
        with self._lock:
            limiter.release()

    def remaining(self, limiter: RateLimit) -> int | None:
        with self._lock:
            return limiter.remaining()

    def clear(self) -> None:
        with self._lock:
            self._specs.clear()
            self._limiters.clear()
