"""Client-side rate limits per model: requests per minute, per day, and in flight.

A burst is spread out so that it fits the server's limits instead of being answered with
429s. The windows are sliding, like the server's: a leaky bucket (aiolimiter's model) admits
a full burst and then keeps dripping, so a sliding-window server sees up to twice its limit
in one window and refuses the rest. Each admitted request is counted at the moment its
answer arrives, which is never earlier than the moment the server counted it, so our window
never frees a slot before the server's does.

A request that never reached the endpoint holds no slot: when the call is cancelled or fails
before its provider reports the request sent (`providers.sending`), the slot is given back
(`Slot.refund`), so superseded requests in a burst do not use up the window.

Server feedback tightens the limiter: `x-ratelimit-remaining-requests` lowers what is left of
the minute, and a 429 blocks the model for its Retry-After.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from contextvars import Token
from dataclasses import dataclass
from typing import Literal

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import RateLimitError
from aurelis.models.catalog import CATALOG
from aurelis.models.providers import sending
from aurelis.models.providers.base import RateLimitInfo
from aurelis.models.types import ModelType

__all__ = [
    "RateLimits",
    "ModelRateLimiter",
    "RateLimiterRegistry",
    "ClientRateLimitError",
    "Slot",
    "SlotHold",
]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Mode = Literal["wait", "fail"]

MINUTE = 60.0
DAY = 86_400.0
#: How long a 429 without Retry-After holds a model back; retries back off on their own.
UNSPECIFIED_BLOCK = 1.0


class ClientRateLimitError(RateLimitError):
    """Our own limiter refused the request (fail mode, or the wait exceeds the deadline)."""


@dataclass(frozen=True)
class RateLimits:
    per_minute: int | None
    per_day: int | None
    concurrent: int | None

    @classmethod
    def for_model(cls, model: ModelType, config: AurelisConfig) -> RateLimits:
        """The model's tier limits with `config.rate_limits[model]` applied on top."""
        tier = CATALOG[model].tier
        override = config.rate_limits.get(model, {})
        return cls(
            per_minute=override.get("per_minute", tier.requests_per_minute),
            per_day=override.get("per_day", tier.requests_per_day),
            concurrent=override.get("concurrent", tier.concurrent),
        )


class _Window:
    """A sliding window of admitted requests (times when they were counted)."""

    __slots__ = ("limit", "period", "hits")

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self.hits: list[float] = []

    def _expire(self, now: float) -> None:
        horizon = now - self.period
        if self.hits and min(self.hits) <= horizon:
            self.hits = [hit for hit in self.hits if hit > horizon]

    def wait(self, now: float) -> float:
        self._expire(now)
        if len(self.hits) < self.limit:
            return 0.0
        # The (len - limit + 1)-th oldest hit must leave before another request fits.
        ordered = sorted(self.hits)
        return ordered[len(ordered) - self.limit] + self.period - now

    def remaining(self, now: float) -> int:
        self._expire(now)
        return max(0, self.limit - len(self.hits))

    def reset_in(self, now: float) -> float | None:
        self._expire(now)
        return min(self.hits) + self.period - now if self.hits else None

    def drop(self, hit: float) -> None:
        try:
            self.hits.remove(hit)
        except ValueError:  # expired meanwhile: nothing left to give back
            pass

    def move(self, old: float, new: float) -> None:
        try:
            self.hits.remove(old)
        except ValueError:  # expired meanwhile; count it again at its real time
            pass
        self.hits.append(new)


def _window(limit: int | None, period: float) -> _Window | None:
    return None if limit is None else _Window(limit, period)


class Slot:
    """An admitted request. `release()` once the answer (or error) is in."""

    __slots__ = ("_limiter", "_counted_at", "_semaphore", "_released")

    def __init__(
        self, limiter: ModelRateLimiter, counted_at: float, semaphore: asyncio.Semaphore | None
    ) -> None:
        self._limiter, self._counted_at, self._semaphore = limiter, counted_at, semaphore
        self._released = False

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._limiter._recount(self._counted_at)
        if self._semaphore is not None:
            self._semaphore.release()

    def refund(self) -> None:
        """Give the slot back uncounted: the request never reached the endpoint."""
        if self._released:
            return
        self._released = True
        self._limiter._uncount(self._counted_at)
        if self._semaphore is not None:
            self._semaphore.release()

    def settle(self, watched: sending.SendWatch, failed: bool) -> None:
        """Release, or refund when the call failed before its request went out."""
        if failed and watched.unsent:
            self.refund()
        else:
            self.release()


class SlotHold:
    """`async with limiter.slot(...)`: a slot acquired on entry, released on exit, once.

    Async on both ends because the windows may live in a shared store (Redis).
    """

    __slots__ = ("_limiter", "_model", "_mode", "_max_wait", "_interactive", "_slot", "_watch")

    def __init__(
        self,
        limiter: ModelRateLimiter,
        model: str,
        mode: Mode,
        max_wait: float,
        interactive: bool = False,
    ) -> None:
        self._limiter, self._model, self._mode, self._max_wait = limiter, model, mode, max_wait
        self._interactive = interactive
        self._slot: Slot | None = None
        self._watch: tuple[sending.SendWatch, Token[sending.SendWatch | None]] | None = None

    async def __aenter__(self) -> Slot:
        self._slot = await self._limiter.acquire(
            self._model, mode=self._mode, max_wait=self._max_wait, interactive=self._interactive
        )
        self._watch = sending.watch()  # set here, seen by the body of `async with`
        return self._slot

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: object
    ) -> None:
        if self._slot is None or self._watch is None:
            return
        watched, token = self._watch
        sending.unwatch(token)
        self._slot.settle(watched, failed=error is not None)


class ModelRateLimiter:
    """The limits of one model. Lives on one event loop at a time."""

    def __init__(
        self,
        limits: RateLimits,
        *,
        window_scale: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.window_scale = window_scale
        self._clock, self._sleep = clock, sleep
        self._minute = _window(limits.per_minute, MINUTE * window_scale)
        self._day = _window(limits.per_day, DAY * window_scale)
        self._windows = [w for w in (self._minute, self._day) if w is not None]
        self._blocked_until = 0.0
        self._server_remaining: int | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._semaphore_loop: asyncio.AbstractEventLoop | None = None

    # --- admission ------------------------------------------------------------------------
    def slot(
        self, model: str, *, mode: Mode, max_wait: float, interactive: bool = False
    ) -> SlotHold:
        """One admitted request as an async context manager (see `acquire`)."""
        return SlotHold(self, model, mode, max_wait, interactive)

    async def acquire(
        self, model: str, *, mode: Mode, max_wait: float, interactive: bool = False
    ) -> Slot:
        """Admit one request, waiting at most `max_wait` seconds (wait mode).

        Raises ClientRateLimitError when the limit is reached in fail mode, or when the
        wait would exceed `max_wait` (the caller then moves down its fallback chain).
        `interactive` (someone is typing and waiting): never wait, neither for a window
        nor for a concurrency slot; refuse at once when none is free (the shared limiter
        in `models.shared.ratelimit` takes the same flag).
        """
        if interactive:
            mode, max_wait = "fail", 0.0
        semaphore = await self._enter(model, max_wait)
        try:
            counted_at = await self._admit(model, mode, max_wait)
        except BaseException:
            if semaphore is not None:
                semaphore.release()
            raise
        return Slot(self, counted_at, semaphore)

    async def _enter(self, model: str, max_wait: float) -> asyncio.Semaphore | None:
        # Concurrency slots are always awaited, also in fail mode: one frees within a
        # single request's time, which is no reason to give up.
        semaphore = self._concurrency()
        if semaphore is None:
            return None
        if not semaphore.locked():
            await semaphore.acquire()  # free slot: no wait, no timer needed
            return semaphore
        if max_wait <= 0:
            raise self._refusal(model, f"{self.limits.concurrent} requests in flight", None)
        try:
            async with asyncio.timeout(max_wait):
                await semaphore.acquire()
        except TimeoutError:
            raise self._refusal(
                model, f"no free slot of {self.limits.concurrent} within the deadline", None
            ) from None
        return semaphore

    async def _admit(self, model: str, mode: Mode, max_wait: float) -> float:
        started = self._clock()
        while True:
            now = self._clock()
            wait = self.wait_time(now)
            if wait <= 0:
                for window in self._windows:
                    window.hits.append(now)
                return now
            waited = now - started
            if mode == "fail" or waited + wait > max_wait:
                raise self._refusal(model, self._why(now), wait)
            await self._sleep(wait)

    def wait_time(self, now: float | None = None) -> float:
        """Seconds until one more request may go out (0 when it may go now)."""
        now = self._clock() if now is None else now
        wait = max(0.0, self._blocked_until - now)
        for window in self._windows:
            wait = max(wait, window.wait(now))
        return wait

    def _uncount(self, counted_at: float) -> None:
        for window in self._windows:
            window.drop(counted_at)

    def _recount(self, counted_at: float) -> None:
        now = self._clock()
        for window in self._windows:
            window.move(counted_at, now)

    # --- server feedback ------------------------------------------------------------------
    def observe(self, info: RateLimitInfo) -> None:
        """Apply what a response's headers said about the server's limits."""
        now = self._clock()
        if info.remaining_requests is not None:
            self._server_remaining = info.remaining_requests
            self._align_minute(info.remaining_requests, info.reset_seconds, now)
        if info.retry_after is not None and info.remaining_requests == 0:
            self.block(info.retry_after)

    def block(self, seconds: float | None) -> None:
        """The server answered 429: send nothing for `seconds` (1 s when it did not say)."""
        if seconds is None:
            seconds = UNSPECIFIED_BLOCK
        self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))

    def _align_minute(self, remaining: int, reset: float | None, now: float) -> None:
        minute = self._minute
        if minute is None:
            # No window of ours to align (the limit was lifted): only a stated reset time
            # says how long "none left" lasts; otherwise a 429 with Retry-After will tell.
            if remaining == 0 and reset is not None:
                self.block(reset)
            return
        extra = minute.remaining(now) - remaining
        if extra > 0:
            # The server counts requests we did not see (another client with the same
            # token): fill our window with stand-ins that age out when the server's do.
            stamp = now + (reset - minute.period if reset is not None else 0.0)
            minute.hits.extend([stamp] * extra)

    # --- reporting ------------------------------------------------------------------------
    def remaining(self) -> int | None:
        """Requests left in the tightest window now (None when there is no window)."""
        now = self._clock()
        counts = [window.remaining(now) for window in self._windows]
        if self._blocked_until > now:
            counts.append(0)
        return min(counts) if counts else self._server_remaining

    def reset_in(self) -> float | None:
        """Seconds until the tightest window gives back a slot, when known."""
        now = self._clock()
        resets = [r for r in (w.reset_in(now) for w in self._windows) if r is not None]
        if self._blocked_until > now:
            resets.append(self._blocked_until - now)
        return max(0.0, min(resets)) if resets else None

    def _concurrency(self) -> asyncio.Semaphore | None:
        if self.limits.concurrent is None:
            return None
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore_loop is not loop:
            # asyncio primitives bind to one loop; a new loop (asyncio.run again) starts fresh.
            self._semaphore = asyncio.Semaphore(self.limits.concurrent)
            self._semaphore_loop = loop
        return self._semaphore

    def _why(self, now: float) -> str:
        if self._blocked_until > now:
            return "the server asked to wait (429)"
        for name, window in (("per day", self._day), ("per minute", self._minute)):
            if window is not None and window.wait(now) > 0:
                return f"{window.limit} requests {name} reached"
        return "limit reached"

    def _refusal(self, model: str, why: str, wait: float | None) -> ClientRateLimitError:
        hint = f"retry in {math.ceil(wait)}s" if wait else None
        return ClientRateLimitError(
            f"{model}: client-side rate limit: {why}", retry_after=wait, model=model, hint=hint
        )

    def adopt(self, other: ModelRateLimiter) -> None:
        """Carry the counts of the limiter this one replaces (limits changed in config)."""
        for mine, theirs in ((self._minute, other._minute), (self._day, other._day)):
            if mine is not None and theirs is not None:
                mine.hits = list(theirs.hits)
        self._blocked_until = other._blocked_until
        self._server_remaining = other._server_remaining


class RateLimiterRegistry:
    """One limiter per model, rebuilt when its configured limits change."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._limiters: dict[ModelType, ModelRateLimiter] = {}

    def get(self, model: ModelType, config: AurelisConfig) -> ModelRateLimiter:
        limits = RateLimits.for_model(model, config)
        scale = config.rate_limit_window_scale
        limiter = self._limiters.get(model)
        if limiter is None or limiter.limits != limits or limiter.window_scale != scale:
            fresh = ModelRateLimiter(
                limits, window_scale=scale, clock=self._clock, sleep=self._sleep
            )
            if limiter is not None:
                fresh.adopt(limiter)
            limiter = self._limiters[model] = fresh
        return limiter
