"""Circuit breakers: stop sending requests to a model that keeps failing, then probe it.

closed ──(N consecutive transient failures, or failure ratio over the sliding window with at
least `min_requests` outcomes)──▶ open ──(cooldown)──▶ half_open ──(probe succeeds)──▶ closed
                                   ▲                                  │
                                   └──────────(probe fails)───────────┘

Only transient failures count (5xx, timeouts, dropped connections, malformed answers, 404/410):
a rejected credential or a bad request says nothing about the model's health.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ModelUnavailableError, RateLimitError, is_transient
from aurelis.models.types import ModelType

__all__ = [
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "BreakerRegistry",
    "BreakerProbe",
    "CircuitOpenError",
]

Clock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(ModelUnavailableError):
    """The model's breaker is open: it was skipped without a call."""

    def __init__(self, model: str, retry_in: float) -> None:
        super().__init__(
            f"{model} skipped: circuit open after repeated failures (next probe in "
            f"{retry_in:.1f}s)",
            model=model,
        )
        self.retry_in = retry_in


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    failure_ratio: float = 0.5
    window: float = 60.0
    min_requests: int = 10
    cooldown: float = 30.0

    @classmethod
    def from_config(cls, config: AurelisConfig) -> BreakerPolicy:
        return cls(
            failure_threshold=config.breaker_failure_threshold,
            failure_ratio=config.breaker_failure_ratio,
            window=config.breaker_window,
            min_requests=config.breaker_min_requests,
            cooldown=config.breaker_cooldown,
        )


class CircuitBreaker:
    """One model's breaker. Not thread-safe: it lives on the event loop."""

    def __init__(self, policy: BreakerPolicy | None = None, *, clock: Clock = time.monotonic):
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._consecutive = 0
        self._outcomes: deque[tuple[float, bool]] = deque()  # (time, failed)
        self._probe_out = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self.retry_in() <= 0:
            self._state = BreakerState.HALF_OPEN
            self._probe_out = False
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.policy.cooldown - self._clock())

    def allow(self) -> bool:
        """May a call go out now? In half-open state this hands out the single probe."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probe_out:
            self._probe_out = True
            return True
        return False

    def would_allow(self) -> bool:
        """Would `allow()` let a call out now? Asks without taking the half-open probe."""
        state = self.state
        if state is BreakerState.HALF_OPEN:
            return not self._probe_out
        return state is BreakerState.CLOSED

    def probe(self, model: str) -> BreakerProbe:
        """`async with breaker.probe(name):` around one call to the model (see BreakerProbe)."""
        return BreakerProbe(self, model)

    def judge(self, error: BaseException | None) -> None:
        """The verdict on one allowed call: None when it answered, else what it raised."""
        if error is None:
            self.record_success()
        elif isinstance(error, RateLimitError):
            self.release()  # the server throttled us: held back, but not unhealthy
        elif is_transient(error):
            self.record_failure()
        else:
            self.release()  # cancelled, or a verdict on the request, not on the model

    def record_success(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._close()
            return
        self._consecutive = 0
        self._add_outcome(failed=False)

    def record_failure(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._consecutive += 1
        self._add_outcome(failed=True)
        if self._consecutive >= self.policy.failure_threshold or self._ratio_exceeded():
            self._open()

    def release(self) -> None:
        """An allowed call ended without a verdict (cancelled, bad request, rate limited)."""
        if self._state is BreakerState.HALF_OPEN:
            self._probe_out = False

    def _add_outcome(self, *, failed: bool) -> None:
        now = self._clock()
        self._outcomes.append((now, failed))
        horizon = now - self.policy.window
        while self._outcomes and self._outcomes[0][0] < horizon:
            self._outcomes.popleft()

    def _ratio_exceeded(self) -> bool:
        total = len(self._outcomes)
        if total < self.policy.min_requests:
            return False
        failures = sum(1 for _, failed in self._outcomes if failed)
        return failures / total >= self.policy.failure_ratio

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._probe_out = False

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._consecutive = 0
        self._outcomes.clear()
        self._probe_out = False


class BreakerProbe:
    """One call's permission to reach a model, as an async context manager.

    Entering asks the breaker (CircuitOpenError when it is open, or when the half-open
    probe is already out); leaving gives the breaker its verdict from how the block ended,
    so a permission is always returned, whatever happens inside. Async because breaker
    state may live in a shared store (Redis) rather than in this process.
    """

    __slots__ = ("_breaker", "_model")

    def __init__(self, breaker: CircuitBreaker, model: str) -> None:
        self._breaker, self._model = breaker, model

    async def __aenter__(self) -> None:
        if not self._breaker.allow():
            raise CircuitOpenError(self._model, self._breaker.retry_in())

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: object
    ) -> None:
        self._breaker.judge(error)


class BreakerRegistry:
    """One breaker per model; the policy follows the live config."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._breakers: dict[ModelType, CircuitBreaker] = {}

    def get(self, model: ModelType, config: AurelisConfig | None = None) -> CircuitBreaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            breaker = self._breakers[model] = CircuitBreaker(clock=self._clock)
        if config is not None:
            policy = BreakerPolicy.from_config(config)
            if policy != breaker.policy:
                breaker.policy = policy
        return breaker
