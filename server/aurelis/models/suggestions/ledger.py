"""Where suggestion events are counted: buffered, then written to this machine's day file
and, with `redis_url` set, added to the team's counts in Redis.

Events arrive on the server's event loop at typing speed; writing each one would put file
and network I/O on the typing path. They are summed in memory and written together a
moment later (`flush_after`), off the loop, and once more when the server shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from aurelis.core.config import AurelisConfig
from aurelis.models.shared.connection import SharedRedis, SharedUnavailable
from aurelis.models.shared.state import keyspace_of, redis_url_of
from aurelis.models.suggestions.counts import OutcomeKey, Tally
from aurelis.models.suggestions.local_file import OutcomeFiles
from aurelis.models.suggestions.team import TeamOutcomes

__all__ = ["SuggestionLedger", "utc_day", "recent_days"]

logger = logging.getLogger("aurelis.models.suggestions")
Clock = Callable[[], float]
_DAY_SECONDS = 86_400


def utc_day(now: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now))


def recent_days(now: float, count: int) -> list[str]:
    """`count` UTC days ending today, today first."""
    return [utc_day(now - index * _DAY_SECONDS) for index in range(count)]


class SuggestionLedger:
    """Counts per `OutcomeKey`, written in batches (see the module docstring)."""

    def __init__(
        self,
        config: Callable[[], AurelisConfig],
        files: OutcomeFiles | None = None,
        *,
        flush_after: float = 1.0,
        clock: Clock = time.time,
    ) -> None:
        self._config = config
        self._files = files
        self._flush_after = flush_after
        self._clock = clock
        self._pending: dict[str, Tally] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self._redis: SharedRedis | None = None
        self._pruned_on: str | None = None
        self._warned = False

    def add(self, key: OutcomeKey, counts: Mapping[str, int]) -> None:
        """Count `counts` (counter → amount) under `key`; written within `flush_after`."""
        tally = self._pending.setdefault(utc_day(self._clock()), {})
        for counter, amount in counts.items():
            if amount:
                field = key.field(counter)
                tally[field] = tally.get(field, 0) + amount
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): the next flush or close writes it
        self._timer = loop.call_later(self._flush_after, self._flush_in_background)

    def _flush_in_background(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def flush(self) -> None:
        """Write what is pending now."""
        pending, self._pending = self._pending, {}
        for day, tally in pending.items():
            await self._write_file(day, tally)
            await self._write_team(day, tally)

    async def close(self) -> None:
        """Write what is pending and let go of Redis (the server is shutting down)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        await self.flush()
        if self._redis is not None:
            await self._redis.close()
            self._redis = None

    async def _write_file(self, day: str, tally: Tally) -> None:
        files = self._files or OutcomeFiles()
        self._files = files
        try:
            await asyncio.to_thread(files.append, day, tally)
            if self._pruned_on != day:
                self._pruned_on = day
                await asyncio.to_thread(files.prune, recent_days(self._clock(), 8))
        except OSError as error:
            if not self._warned:  # once: the next failure says nothing new
                self._warned = True
                logger.warning("suggestion counts not written to %s: %s", files.folder, error)

    async def _write_team(self, day: str, tally: Tally) -> None:
        config = self._config()
        url = redis_url_of(config)
        if url is None:
            return
        if self._redis is None or not self._redis.matches(url):
            if self._redis is not None:
                await self._redis.close()
            self._redis = SharedRedis(url)
        try:
            await TeamOutcomes(self._redis, keyspace_of(config)).add(day, tally)
        except SharedUnavailable:
            pass  # the day file has it; the connection logged the outage once
