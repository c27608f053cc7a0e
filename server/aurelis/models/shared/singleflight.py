"""Single-flight across processes: identical concurrent requests make one upstream call.

The first process to ask takes a lock (SET NX with an expiry) and makes the call; while it
runs it keeps the lock alive. Others poll, with a backoff, for the leader's result, which it
hands over under a short-lived key; they stop waiting at their deadline. If the leader
dies, its lock expires and the next poller takes over; if its call fails, it drops the lock
and a waiter tries in turn (so a failure is not shared as if it were an answer). When Redis
does not answer, every process simply makes its own call.

This sits inside the in-process single-flight: within one process identical requests are
already one call, so only one waiter per process polls Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis

from aurelis.models.shared.connection import LuaScript, SharedRedis, SharedUnavailable
from aurelis.models.shared.keys import Keyspace

__all__ = ["SharedSingleFlight", "LOCK_SECONDS"]

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: A dead leader's lock frees after this long; a live leader renews it every third of it.
LOCK_SECONDS = 5.0
#: How long a handed-over result stays readable: waiters poll at least every 0.1 s.
HANDOFF_SECONDS = 5.0
_POLL_FIRST, _POLL_MAX = 0.002, 0.1
_FORGET_TIMEOUT = 2.0

# One poll: the result if the leader left one, else the lock if nobody holds it.
_POLL = LuaScript(
    "aurelis_flight_poll",
    """
local result = redis.call('GET', KEYS[2])
if result then
  return {1, result}
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2, ''}
end
return {0, ''}
""",
)

_RENEW = LuaScript(
    "aurelis_flight_renew",
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
""",
)

# Hand over the result (if any) and let go of the lock, but only a lock that is still ours.
_FINISH = LuaScript(
    "aurelis_flight_finish",
    """
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
""",
)


class SharedSingleFlight:
    """Coalesces identical calls across processes."""

    def __init__(
        self,
        redis: SharedRedis,
        *,
        lock_seconds: float = LOCK_SECONDS,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._lock_ms = max(1, round(lock_seconds * 1000))
        self._clock, self._sleep = clock, sleep

    async def forget_results(self, keyspace: Keyspace) -> None:
        """Drop handed-over results still readable (a cleared cache must not answer)."""

        async def drop(client: Redis) -> None:
            names = [
                name async for name in client.scan_iter(match=keyspace.key("flight-result", "*"))
            ]
            if names:
                await client.unlink(*names)

        with contextlib.suppress(SharedUnavailable):
            await self._redis.run(drop, time_limit=_FORGET_TIMEOUT)

    async def do(
        self,
        keyspace: Keyspace,
        key: str,
        call: Callable[[], Awaitable[T]],
        *,
        encode: Callable[[T], bytes | None],
        decode: Callable[[bytes], T],
        max_wait: float,
        interactive: bool = False,
    ) -> tuple[T, bool]:
        """(result, whether another process's call produced it).

        `encode` turns the leader's result into what the waiters get (None: nothing to
        hand over, they call for themselves); `decode` reads it back, raising ValueError
        for a value it cannot read. Waits at most `max_wait` seconds for another process,
        then calls on its own.
        """
        lock, result_key = keyspace.key("flight", key), keyspace.key("flight-result", key)
        token = secrets.token_hex(8)
        ends = self._clock() + max_wait
        poll = _POLL_FIRST
        while True:
            try:
                status, value = await self._redis.script(
                    _POLL, [lock, result_key], [token, self._lock_ms], interactive=interactive
                )
            except SharedUnavailable:
                return await call(), False
            if status == 1:
                with contextlib.suppress(ValueError):
                    return decode(bytes(value)), True
                return await call(), False  # unreadable hand-over: not worth waiting again
            if status == 2:
                return await self._lead(lock, result_key, token, call, encode), False
            left = ends - self._clock()
            if left <= 0:
                return await call(), False
            await self._sleep(min(poll, left))
            poll = min(poll * 2, _POLL_MAX)

    async def _lead(
        self,
        lock: str,
        result_key: str,
        token: str,
        call: Callable[[], Awaitable[T]],
        encode: Callable[[T], bytes | None],
    ) -> T:
        renewal = asyncio.get_running_loop().create_task(self._renew(lock, token))
        handoff = b""
        try:
            result = await call()
            handoff = encode(result) or b""
            return result
        finally:
            renewal.cancel()
            finish = asyncio.ensure_future(self._finish(lock, result_key, token, handoff))
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(finish)

    async def _renew(self, lock: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._lock_ms / 3000)
            with contextlib.suppress(SharedUnavailable):
                await self._redis.script(_RENEW, [lock], [token, self._lock_ms])

    async def _finish(self, lock: str, result_key: str, token: str, handoff: bytes) -> None:
        args: list[str | int | bytes] = [token, handoff, round(HANDOFF_SECONDS * 1000)]
        with contextlib.suppress(SharedUnavailable):
            await self._redis.script(_FINISH, [lock, result_key], args)
