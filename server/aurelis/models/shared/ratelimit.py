"""Rate limits shared by every process that uses one endpoint and token.

The same sliding windows as the in-process limiter (`models.ratelimit`), kept in Redis
sorted sets and changed only by server-side scripts, so admitting a request is one atomic
step however many processes ask at once: N processes together never exceed the limit.
Times come from Redis's clock (`TIME` inside the script), never from each process's.

- A request is counted when admitted and re-counted when its answer arrives (as the
  in-process limiter does), so our window never frees a slot before the server's. One
  cancelled or failed before its request went out (`providers.sending`) is taken out of
  the window again: it never reached the server.
- A concurrency slot is a lease that a running request renews; a process that dies stops
  renewing and its slot comes back within `lease_seconds`.
- What the server teaches is shared too: a 429's Retry-After blocks the model for everyone,
  and `x-ratelimit-remaining-requests` below our own count fills the window with stand-ins.
- Interactive requests never queue: no free slot or window means an immediate refusal.
  Others wait for the window within the request's deadline.
- When Redis does not answer, the in-process limiter of `models.ratelimit` takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from contextvars import Token
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from aurelis.core.config import AurelisConfig
from aurelis.models.providers import sending
from aurelis.models.providers.base import RateLimitInfo
from aurelis.models.ratelimit import (
    DAY,
    MINUTE,
    UNSPECIFIED_BLOCK,
    ClientRateLimitError,
    RateLimiterRegistry,
    RateLimits,
    Slot,
)
from aurelis.models.shared import ratelimit_scripts as scripts
from aurelis.models.shared.connection import SharedRedis, SharedUnavailable
from aurelis.models.shared.keys import Keyspace
from aurelis.models.types import ModelType

__all__ = ["SharedRateLimiter", "SharedSlot", "SharedSlotHold", "LimitTarget"]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Mode = Literal["wait", "fail"]

#: A running request renews its concurrency lease three times per lease.
LEASE_SECONDS = 15.0
#: Polling interval bounds while every concurrency slot is taken.
_POLL_FIRST, _POLL_MAX = 0.01, 0.25


@dataclass(frozen=True)
class LimitTarget:
    """What one admission is counted against: a model's deployment under one keyspace."""

    keyspace: Keyspace
    model: ModelType
    deployment: str
    limits: RateLimits
    window_scale: float = 1.0

    @classmethod
    def of(
        cls, keyspace: Keyspace, model: ModelType, deployment: str, config: AurelisConfig
    ) -> LimitTarget:
        """The target with the model's limits as configured now."""
        return cls(
            keyspace,
            model,
            deployment,
            RateLimits.for_model(model, config),
            config.rate_limit_window_scale,
        )

    def key(self, name: str) -> str:
        # By deployment: that is what the server counts, whatever we call the model.
        return self.keyspace.key("rl", self.deployment, name)

    @property
    def keys(self) -> list[str]:
        return [self.key("minute"), self.key("day"), self.key("leases")]

    @property
    def block_key(self) -> str:
        return self.key("blocked")

    def period_ms(self, seconds: float, limit: int | None) -> int:
        return -1 if limit is None else max(1, round(seconds * self.window_scale * 1000))


class SharedSlot:
    """An admitted request; `release()` (or leaving `async with`) once its answer is in."""

    def __init__(
        self,
        limiter: SharedRateLimiter,
        target: LimitTarget,
        member: str | None,
        local: Slot | None,
    ) -> None:
        self._limiter, self._target = limiter, target
        self._member, self._local = member, local
        self._released = False
        self._renewal: asyncio.Task[None] | None = None
        if member is not None and target.limits.concurrent is not None:
            self._renewal = asyncio.get_running_loop().create_task(limiter._renew(target, member))

    @property
    def shared(self) -> bool:
        """True when Redis admitted this request (False: the in-process fallback did)."""
        return self._member is not None

    async def release(self) -> None:
        await self._finish(refund=False)

    async def refund(self) -> None:
        """Give the slot back uncounted: the request never reached the endpoint."""
        await self._finish(refund=True)

    async def settle(self, watched: sending.SendWatch, failed: bool) -> None:
        """Release, or refund when the call failed before its request went out."""
        await self._finish(refund=failed and watched.unsent)

    async def _finish(self, *, refund: bool) -> None:
        if self._released:
            return
        self._released = True
        if self._renewal is not None:
            self._renewal.cancel()
        if self._local is not None and refund:
            self._local.refund()
        elif self._local is not None:
            self._local.release()
        if self._member is not None:
            # Shielded: a cancelled request still gives its slot back.
            finish = self._limiter._refund if refund else self._limiter._release
            done = asyncio.ensure_future(finish(self._target, self._member))
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(done)

    async def __aenter__(self) -> SharedSlot:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.release()


class SharedSlotHold:
    """`async with limiter.slot(...)`: a slot acquired on entry and released on exit."""

    __slots__ = (
        "_limiter",
        "_target",
        "_config",
        "_mode",
        "_max_wait",
        "_interactive",
        "_slot",
        "_watch",
    )

    def __init__(
        self,
        limiter: SharedRateLimiter,
        target: LimitTarget,
        config: AurelisConfig,
        mode: Mode,
        max_wait: float,
        interactive: bool,
    ) -> None:
        self._limiter, self._target, self._config = limiter, target, config
        self._mode, self._max_wait, self._interactive = mode, max_wait, interactive
        self._slot: SharedSlot | None = None
        self._watch: tuple[sending.SendWatch, Token[sending.SendWatch | None]] | None = None

    async def __aenter__(self) -> SharedSlot:
        self._slot = await self._limiter.acquire(
            self._target,
            self._config,
            mode=self._mode,
            max_wait=self._max_wait,
            interactive=self._interactive,
        )
        self._watch = sending.watch()  # set here, seen by the body of `async with`
        return self._slot

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._slot is None or self._watch is None:
            return
        watched, token = self._watch
        sending.unwatch(token)
        await self._slot.settle(watched, failed=exc is not None)


class SharedRateLimiter:
    """Admits requests against limits kept in Redis; falls back to `local` without it."""

    def __init__(
        self,
        redis: SharedRedis,
        local: RateLimiterRegistry,
        *,
        lease_seconds: float = LEASE_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._redis, self._local = redis, local
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._clock, self._sleep = clock, sleep

    async def acquire(
        self,
        target: LimitTarget,
        config: AurelisConfig,
        *,
        mode: Mode,
        max_wait: float,
        interactive: bool = False,
    ) -> SharedSlot:
        """Admit one request or raise ClientRateLimitError (see the module docstring)."""
        member = secrets.token_hex(8)
        ends = self._clock() + max_wait
        poll = _POLL_FIRST
        while True:
            try:
                status, value, why = await self._redis.script(
                    scripts.ACQUIRE,
                    [*target.keys, target.block_key],
                    self._acquire_args(target, member),
                    interactive=interactive,
                )
            except SharedUnavailable:
                if interactive or not self._redis.available or self._clock() >= ends:
                    return await self._acquire_locally(target, config, mode, ends, interactive)
                # A slow answer, Redis not down: ask again (same member, so a first try
                # that did get in is not counted twice) rather than guess in-process.
                await self._sleep(_POLL_FIRST)
                continue
            if status == 1:
                return SharedSlot(self, target, member, None)
            left = ends - self._clock()
            if status == -1:  # every concurrency slot is leased
                if interactive or left <= 0:
                    raise _refusal(target, f"{target.limits.concurrent} requests in flight", None)
                wait, poll = min(poll, left), min(poll * 2, _POLL_MAX)
            else:
                wait = int(value) / 1000
                if interactive or mode == "fail" or wait > left:
                    raise _refusal(target, _why(target, _text(why)), wait)
            await self._sleep(wait)

    def slot(
        self,
        target: LimitTarget,
        config: AurelisConfig,
        *,
        mode: Mode,
        max_wait: float,
        interactive: bool = False,
    ) -> SharedSlotHold:
        """One admitted request as an async context manager (see `acquire`)."""
        return SharedSlotHold(self, target, config, mode, max_wait, interactive)

    def _acquire_args(self, target: LimitTarget, member: str) -> list[str | int]:
        limits = target.limits
        return [
            member,
            _limit(limits.per_minute),
            target.period_ms(MINUTE, limits.per_minute),
            _limit(limits.per_day),
            target.period_ms(DAY, limits.per_day),
            _limit(limits.concurrent),
            self._lease_ms,
        ]

    async def _acquire_locally(
        self,
        target: LimitTarget,
        config: AurelisConfig,
        mode: Mode,
        ends: float,
        interactive: bool,
    ) -> SharedSlot:
        limiter = self._local.get(target.model, config)
        left = 0.0 if interactive else max(0.0, ends - self._clock())
        slot = await limiter.acquire(
            target.model.value, mode="fail" if interactive else mode, max_wait=left
        )
        return SharedSlot(self, target, None, slot)

    async def _release(self, target: LimitTarget, member: str) -> None:
        limits = target.limits
        args: list[str | int] = [
            member,
            target.period_ms(MINUTE, limits.per_minute),
            target.period_ms(DAY, limits.per_day),
        ]
        # Redis away: the lease expires on its own, and the hit ages out from admission.
        with contextlib.suppress(SharedUnavailable):
            await self._redis.script(scripts.RELEASE, target.keys, args)

    async def _refund(self, target: LimitTarget, member: str) -> None:
        # Redis away: the hit ages out with its window, as a counted one would.
        with contextlib.suppress(SharedUnavailable):
            await self._redis.script(scripts.REFUND, target.keys, [member])

    async def _renew(self, target: LimitTarget, member: str) -> None:
        every = self._lease_ms / 3000
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(SharedUnavailable):
                args: list[str | int] = [member, self._lease_ms]
                await self._redis.script(scripts.RENEW, [target.key("leases")], args)

    # --- server feedback ------------------------------------------------------------------
    async def observe(
        self, target: LimitTarget, config: AurelisConfig, info: RateLimitInfo
    ) -> None:
        """Share what a response's rate-limit headers said."""
        self._local.get(target.model, config).observe(info)
        remaining, reset = info.remaining_requests, info.reset_seconds
        if remaining is not None:
            per_minute = target.limits.per_minute
            if per_minute is not None:
                args: list[str | int] = [
                    per_minute,
                    target.period_ms(MINUTE, per_minute),
                    remaining,
                    -1 if reset is None else round(reset * 1000),
                    f"server:{secrets.token_hex(6)}",
                ]
                with contextlib.suppress(SharedUnavailable):
                    await self._redis.script(scripts.ALIGN, [target.key("minute")], args)
            elif remaining == 0 and reset is not None:
                await self.block(target, config, reset, local=False)
        if info.retry_after is not None and remaining == 0:
            await self.block(target, config, info.retry_after, local=False)

    async def block(
        self,
        target: LimitTarget,
        config: AurelisConfig,
        seconds: float | None,
        *,
        local: bool = True,
    ) -> None:
        """The server answered 429: nobody sends to this deployment for `seconds`."""
        if local:
            self._local.get(target.model, config).block(seconds)
        ms = round(1000 * (UNSPECIFIED_BLOCK if seconds is None else max(0.0, seconds)))
        if ms > 0:
            with contextlib.suppress(SharedUnavailable):
                await self._redis.script(scripts.BLOCK, [target.block_key], [ms])

    # --- reporting ------------------------------------------------------------------------
    async def remaining(self, target: LimitTarget, config: AurelisConfig) -> int | None:
        """Requests left in the tightest shared window (None when there is no window)."""
        limits = target.limits
        args: list[str | int] = [
            _limit(limits.per_minute),
            target.period_ms(MINUTE, limits.per_minute),
            _limit(limits.per_day),
            target.period_ms(DAY, limits.per_day),
        ]
        keys = [target.key("minute"), target.key("day"), target.block_key]
        try:
            left = int(await self._redis.script(scripts.REMAINING, keys, args))
        except SharedUnavailable:
            return self._local.get(target.model, config).remaining()
        return None if left < 0 else left


def _limit(value: int | None) -> int:
    return -1 if value is None else value


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _why(target: LimitTarget, window: str) -> str:
    limits = target.limits
    if window == "blocked":
        return "the server asked to wait (429)"
    if window == "day":
        return f"{limits.per_day} requests per day reached (shared)"
    return f"{limits.per_minute} requests per minute reached (shared)"


def _refusal(target: LimitTarget, why: str, wait: float | None) -> ClientRateLimitError:
    model = target.model.value
    return ClientRateLimitError(
        f"{model}: client-side rate limit: {why}",
        retry_after=wait,
        model=model,
        hint=f"retry in {math.ceil(wait)}s" if wait else None,
    )
