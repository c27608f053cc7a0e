"""Single-flight across processes: one upstream call for identical concurrent requests,
the result handed to the waiters; a failed or dead leader never strands them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis
from tests.team.redis_process import free_port

from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import Keyspace, keyspace_for
from aurelis.models.shared.singleflight import SharedSingleFlight

KEYSPACE = keyspace_for("http://127.0.0.1:9/v1", "team-token-0123456789")


class TextFlight:
    """A SharedSingleFlight whose results are plain text."""

    def __init__(self, link: SharedRedis, lock_seconds: float) -> None:
        self._flight = SharedSingleFlight(link, lock_seconds=lock_seconds)

    async def do(
        self, keyspace: Keyspace, key: str, call: Callable[[], Awaitable[str]], max_wait: float
    ) -> tuple[str, bool]:
        return await self._flight.do(
            keyspace, key, call, encode=str.encode, decode=bytes.decode, max_wait=max_wait
        )


def flight(link: SharedRedis, lock_seconds: float = 5.0) -> TextFlight:
    return TextFlight(link, lock_seconds)


@pytest.fixture
async def links(redis_url: str) -> AsyncIterator[list[SharedRedis]]:
    made = [SharedRedis(redis_url) for _ in range(3)]
    yield made
    for link in made:
        await link.close()


async def test_identical_calls_from_several_processes_make_one_upstream_call(
    links: list[SharedRedis],
) -> None:
    calls: list[int] = []

    async def upstream() -> str:
        calls.append(1)
        await asyncio.sleep(0.2)
        return "the answer"

    results = await asyncio.gather(
        *(flight(link).do(KEYSPACE, "same", upstream, max_wait=5) for link in links)
    )
    assert calls == [1]
    assert [text for text, _ in results] == ["the answer"] * 3
    assert sorted(joined for _, joined in results) == [False, True, True]


async def test_different_keys_do_not_wait_for_each_other(links: list[SharedRedis]) -> None:
    calls: list[str] = []

    async def upstream(name: str) -> str:
        calls.append(name)
        await asyncio.sleep(0.1)
        return name

    await asyncio.gather(
        *(
            flight(link).do(KEYSPACE, name, lambda n=name: upstream(n), max_wait=5)
            for link, name in zip(links, ["a", "b", "c"], strict=True)
        )
    )
    assert sorted(calls) == ["a", "b", "c"]


async def test_when_the_leader_fails_a_waiter_makes_its_own_call(
    links: list[SharedRedis],
) -> None:
    leader, waiter = flight(links[0]), flight(links[1])

    async def failing() -> str:
        await asyncio.sleep(0.1)
        raise RuntimeError("upstream broke")

    async def working() -> str:
        return "second try"

    lead = asyncio.ensure_future(leader.do(KEYSPACE, "k", failing, max_wait=5))
    await asyncio.sleep(0.02)
    follow = asyncio.ensure_future(waiter.do(KEYSPACE, "k", working, max_wait=5))
    with pytest.raises(RuntimeError):
        await lead
    assert await follow == ("second try", False)


async def test_a_dead_leaders_lock_expires_and_a_waiter_takes_over(
    links: list[SharedRedis], redis_url: str
) -> None:
    # What a leader that died mid-call leaves behind: its lock, ticking down.
    redis.Redis.from_url(redis_url).set(KEYSPACE.key("flight", "k"), "dead-leader", px=300)
    started = time.monotonic()
    result = await flight(links[0]).do(KEYSPACE, "k", _answer("taken over"), max_wait=5)
    assert result == ("taken over", False)
    assert 0.25 <= time.monotonic() - started < 2.0


async def test_a_waiter_stops_waiting_at_its_deadline(
    links: list[SharedRedis], redis_url: str
) -> None:
    redis.Redis.from_url(redis_url).set(KEYSPACE.key("flight", "k"), "slow-leader", px=10_000)
    started = time.monotonic()
    result = await flight(links[0]).do(KEYSPACE, "k", _answer("on my own"), max_wait=0.3)
    assert result == ("on my own", False)
    assert time.monotonic() - started < 2.0


async def test_a_live_leader_keeps_its_lock_beyond_the_lock_time(
    links: list[SharedRedis],
) -> None:
    calls: list[int] = []

    async def slow() -> str:
        calls.append(1)
        await asyncio.sleep(0.8)
        return "slow answer"

    first = asyncio.ensure_future(flight(links[0], 0.3).do(KEYSPACE, "k", slow, max_wait=5))
    await asyncio.sleep(0.05)
    second = await flight(links[1], 0.3).do(KEYSPACE, "k", slow, max_wait=5)
    assert second == ("slow answer", True)
    assert (await first)[0] == "slow answer"
    assert calls == [1]


async def test_without_redis_each_process_calls_for_itself() -> None:
    link = SharedRedis(f"redis://127.0.0.1:{free_port()}/0")
    assert await flight(link).do(KEYSPACE, "k", _answer("alone"), max_wait=5) == ("alone", False)


def _answer(text: str):  # type: ignore[no-untyped-def]
    async def call() -> str:
        return text

    return call
