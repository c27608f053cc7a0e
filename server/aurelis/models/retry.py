"""Retries of one model call: transient errors only, backoff with jitter, Retry-After honoured.

A retry is only worth it when it can finish in time: a wait longer than what is left of the
request's deadline, or a Retry-After beyond `retry_after_cap`, ends the retries at once so
the caller can move down its fallback chain instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
    wait_random,
)

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ModelProcessDownError, RateLimitError, is_transient
from aurelis.models.breaker import CircuitOpenError
from aurelis.models.ratelimit import ClientRateLimitError

__all__ = ["RetryPolicy", "call_with_retries", "retryable"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    retry_after_cap: float = 60.0

    @classmethod
    def from_config(cls, config: AurelisConfig) -> RetryPolicy:
        return cls(
            max_retries=config.max_retries,
            backoff_initial=config.retry_backoff_initial,
            backoff_max=config.retry_backoff_max,
            retry_after_cap=config.retry_after_cap,
        )


def retryable(error: BaseException) -> bool:
    """Transient errors from the model; never our own refusals (breaker, client limiter), nor
    a crashed local model process (it is restarting: the fallback answers sooner)."""
    refusals = (CircuitOpenError, ClientRateLimitError, ModelProcessDownError)
    return is_transient(error) and not isinstance(error, refusals)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    time_left: Callable[[], float],
    can_retry: Callable[[], bool] = lambda: True,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Run `attempt` until it succeeds, fails for good, or no retry could finish in time.

    The last error is raised as is. `time_left()` is the request's remaining deadline;
    `can_retry()` false ends the retries too (the model's breaker just opened).
    """
    # Fast path: most calls succeed first time, and building tenacity's machinery costs
    # more than the rest of the orchestrator's per-request work. Only a retryable failure
    # hands over to tenacity, which sees that first failure replayed as its attempt 1.
    try:
        return await attempt()
    except Exception as error:  # re-raised unless worth a retry
        if not retryable(error) or policy.max_retries == 0:
            raise
        first_failure: list[BaseException] = [error]

    async def again() -> T:
        if first_failure:
            raise first_failure.pop()
        return await attempt()

    return await _retrying(policy, time_left, can_retry, sleep)(again)


def _retrying(
    policy: RetryPolicy,
    time_left: Callable[[], float],
    can_retry: Callable[[], bool],
    sleep: Sleep,
) -> AsyncRetrying:
    # Exponential from backoff_initial, plus up to one backoff_initial of jitter so that
    # clients failed by the same outage do not come back in lockstep.
    backoff = wait_exponential(
        multiplier=policy.backoff_initial, max=policy.backoff_max
    ) + wait_random(0, policy.backoff_initial)

    def wait(state: RetryCallState) -> float:
        retry_after = _retry_after(state)
        return retry_after if retry_after is not None else float(backoff(state))

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number > policy.max_retries or not can_retry():
            return True
        retry_after = _retry_after(state)
        if retry_after is not None and retry_after > policy.retry_after_cap:
            return True
        return state.upcoming_sleep >= time_left()

    return AsyncRetrying(
        retry=retry_if_exception(retryable),
        wait=wait,
        stop=stop,
        sleep=sleep,
        reraise=True,
    )


def _retry_after(state: RetryCallState) -> float | None:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None and outcome.failed else None
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        return max(0.0, float(error.retry_after))
    return None
