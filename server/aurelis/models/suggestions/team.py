"""Suggestion counts for a team: one Redis hash per UTC day in the endpoint's keyspace.

Every process adds its counts with HINCRBY, so any number of editors on one Redis build
one table. A day's hash expires after the report no longer reaches it. Like every shared
part, this never raises because Redis failed: the caller keeps the local file's picture.
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import Keyspace
from aurelis.models.suggestions.counts import Tally
from aurelis.models.suggestions.local_file import KEEP_DAYS

__all__ = ["TeamOutcomes"]

_KEEP_SECONDS = (KEEP_DAYS + 1) * 86_400


class TeamOutcomes:
    """The shared tallies of one keyspace."""

    def __init__(self, redis: SharedRedis, keyspace: Keyspace) -> None:
        self._redis = redis
        self._keyspace = keyspace

    def _key(self, day: str) -> str:
        return self._keyspace.key("suggestions", day)

    async def add(self, day: str, tally: Mapping[str, int]) -> None:
        """Add `tally` to the day's counts; SharedUnavailable when Redis does not answer."""
        if not tally:
            return
        key = self._key(day)

        async def increment(client: Redis) -> object:
            pipe = client.pipeline(transaction=True)
            for name, count in tally.items():
                pipe.hincrby(key, name, count)
            pipe.expire(key, _KEEP_SECONDS)
            return await pipe.execute()

        await self._redis.run(increment)

    async def read(self, days: list[str]) -> dict[str, Tally]:
        """Each day's counts; SharedUnavailable when Redis does not answer."""

        async def fetch(client: Redis) -> list[dict[bytes, bytes]]:
            pipe = client.pipeline(transaction=False)
            for day in days:
                pipe.hgetall(self._key(day))
            return list(await pipe.execute())

        answers = await self._redis.run(fetch)
        return {day: _decoded(answer) for day, answer in zip(days, answers, strict=True)}


def _decoded(answer: Mapping[bytes, bytes]) -> Tally:
    tally: Tally = {}
    for name, value in answer.items():
        try:
            tally[name.decode("utf-8")] = int(value)
        except (UnicodeDecodeError, ValueError):
            continue  # not ours: skip rather than fail the report
    return tally
