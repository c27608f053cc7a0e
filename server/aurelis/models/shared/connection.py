"""The one Redis connection of a process, and what happens when Redis is away.

Every call is bounded by a short timeout (interactive requests wait less) and every failure
is absorbed: the caller gets `SharedUnavailable` and carries on with its in-process state,
so a request never fails because Redis did. The first failure logs one warning; while Redis
is down no caller waits on it at all, and one call at a time tries again after a backoff
that doubles up to `backoff_max`. The URL is shown masked everywhere (`redact_url`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import AuthenticationError as RedisAuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from aurelis.core.redis_url import check_url, redact_url, url_secrets
from aurelis.core.secrets import redact, register_secret

__all__ = [
    "SharedRedis",
    "SharedUnavailable",
    "LuaScript",
    "DEFAULT_TIMEOUT",
    "INTERACTIVE_TIMEOUT",
]

logger = logging.getLogger("aurelis.models.shared")

T = TypeVar("T")
Clock = Callable[[], float]
ScriptArg = str | int | float | bytes

#: How long a request may wait on Redis before it goes on with in-process state.
DEFAULT_TIMEOUT = 0.25
#: Inline completions are typed against: they wait on Redis at most this long.
INTERACTIVE_TIMEOUT = 0.05
#: Calls that time out (or fail oddly) in a row before Redis counts as down: one slow
#: answer is a hiccup, often our own busy event loop; a run of them is an outage.
_SLOW_CALLS_TO_DOWN = 3


class SharedUnavailable(Exception):
    """Redis did not answer in time (or is known to be down): use in-process state."""


@dataclass(frozen=True)
class LuaScript:
    """A server-side script: run atomically by Redis, loaded once per connection."""

    name: str
    source: str


class SharedRedis:
    """A redis-py asyncio client that degrades instead of failing."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        interactive_timeout: float = INTERACTIVE_TIMEOUT,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._url = check_url(url)
        self.shown_url = redact_url(url)
        self._secrets = url_secrets(url)
        for secret in self._secrets:
            register_secret(secret)  # masked in every log line from now on
        self.timeout, self.interactive_timeout = timeout, interactive_timeout
        self._backoff_initial, self._backoff_max = backoff_initial, backoff_max
        self._clock = clock
        self._client: Redis | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._down = False
        self._retry_at = 0.0
        self._backoff = backoff_initial
        self._probing = False
        self._slow_calls = 0
        self._closing: set[asyncio.Task[None]] = set()

    # --- state ----------------------------------------------------------------------------
    @property
    def available(self) -> bool:
        """False while Redis is known to be down (calls fail fast until the retry time)."""
        return not self._down

    def matches(self, url: str) -> bool:
        return url == self._url

    # --- calls ----------------------------------------------------------------------------
    async def run(
        self,
        op: Callable[[Redis], Awaitable[T]],
        *,
        interactive: bool = False,
        time_limit: float | None = None,
    ) -> T:
        """`op(client)` within the timeout; SharedUnavailable when Redis cannot answer.

        `time_limit` overrides the timeout for work nobody types against (cache clearing).
        """
        timeout = time_limit
        if timeout is None:
            timeout = self.interactive_timeout if interactive else self.timeout
        probing = self._claim_call()
        try:
            client = self._current_client()
            async with asyncio.timeout(timeout):
                result = await op(client)
        except TimeoutError:
            self._troubled("no answer within the timeout")
            raise SharedUnavailable("Redis did not answer in time") from None
        except (RedisConnectionError, RedisAuthenticationError, OSError) as error:
            self._mark_down(self._describe(error))
            raise SharedUnavailable(self._describe(error)) from None
        except Exception as error:  # noqa: BLE001 - a request never fails because Redis did
            self._troubled(self._describe(error))
            raise SharedUnavailable(self._describe(error)) from None
        finally:
            if probing:
                self._probing = False
        self._succeeded()
        return result

    async def script(
        self,
        script: LuaScript,
        keys: Sequence[str],
        args: Sequence[ScriptArg],
        *,
        interactive: bool = False,
    ) -> Any:
        """Run a server-side script (EVALSHA; redis-py reloads it after a Redis restart)."""

        async def call(client: Redis) -> Any:
            return await self._registered(client, script)(keys=list(keys), args=list(args))

        return await self.run(call, interactive=interactive)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await _close_quietly(client)

    # --- internals --------------------------------------------------------------------------
    def _claim_call(self) -> bool:
        """May a call go out now? True when this call is the one probing a down Redis."""
        if not self._down:
            return False
        if self._probing or self._clock() < self._retry_at:
            raise SharedUnavailable("Redis is down; retrying later")
        self._probing = True
        return True

    def _current_client(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # redis-py's connections belong to one event loop; a new loop gets a new client.
            self._client = Redis.from_url(
                self._url,
                retry=Retry(NoBackoff(), 0),  # our own fallback replaces redis-py's retries
                socket_connect_timeout=max(self.timeout, 1.0),
                health_check_interval=0,
            )
            self._client_loop = loop
            self._scripts = {}
        return self._client

    def _registered(self, client: Redis, script: LuaScript) -> AsyncScript:
        registered = self._scripts.get(script.name)
        if registered is None:
            registered = self._scripts[script.name] = client.register_script(script.source)
        return registered

    def _troubled(self, reason: str) -> None:
        # One slow answer is often our own event loop being busy, not Redis: only a run
        # of them (or a refused connection) counts as an outage.
        self._slow_calls += 1
        if self._slow_calls >= _SLOW_CALLS_TO_DOWN:
            self._mark_down(reason)

    def _mark_down(self, reason: str) -> None:
        now = self._clock()
        if not self._down:
            self._down, self._backoff = True, self._backoff_initial
            logger.warning(
                "Redis at %s is unavailable (%s): rate limits, cache, breakers and budgets "
                "are per process until it is back",
                self.shown_url,
                reason,
            )
        else:
            self._backoff = min(self._backoff * 2, self._backoff_max)
        self._retry_at = now + self._backoff
        self._discard_client()

    def _discard_client(self) -> None:
        # After a restart the pool holds dead sockets: start afresh. Calls still running
        # on the old pool finish (or time out) first; it is closed a little later.
        client, self._client, self._scripts = self._client, None, {}
        if client is None or self._client_loop is not asyncio.get_running_loop():
            return
        closing = asyncio.get_running_loop().create_task(_close_later(client, 5.0))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    def _succeeded(self) -> None:
        self._slow_calls = 0
        if self._down:
            self._down, self._backoff = False, self._backoff_initial
            logger.warning("Redis at %s is reachable again: state is shared", self.shown_url)

    def _describe(self, error: BaseException) -> str:
        return redact(f"{type(error).__name__}: {error}", self._secrets)


async def _close_later(client: Redis, delay: float) -> None:
    await asyncio.sleep(delay)
    await _close_quietly(client)


async def _close_quietly(client: Redis) -> None:
    try:
        await client.aclose()
    except (RedisError, OSError):
        logger.debug("error while closing a Redis client", exc_info=True)
