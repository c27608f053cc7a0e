"""Rate limits shared through Redis: one window for every limiter on a keyspace, fail-fast
for interactive requests, leases that outlive no process, and 429s taught to everyone."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator

import pytest
from tests.team.redis_process import free_port

from aurelis.core.config import AurelisConfig
from aurelis.models.providers.base import RateLimitInfo
from aurelis.models.ratelimit import ClientRateLimitError, RateLimiterRegistry, RateLimits
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import keyspace_for
from aurelis.models.shared.ratelimit import LimitTarget, SharedRateLimiter
from aurelis.models.types import ModelType

KEYSPACE = keyspace_for("http://127.0.0.1:9/v1", "team-token-0123456789")
#: A "minute" of 1.2 s, so windows turn over within a test.
SCALE = 0.02
WINDOW = 60 * SCALE


def target(per_minute: int | None = None, concurrent: int | None = None) -> LimitTarget:
    limits = RateLimits(per_minute, None, concurrent)
    return LimitTarget(KEYSPACE, ModelType.GPT_4O_MINI, "gpt-4o-mini", limits, SCALE)


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[list[SharedRateLimiter]]:
    """Three limiters, each with its own connection and in-process state, like processes."""
    links = [SharedRedis(redis_url) for _ in range(3)]
    yield [SharedRateLimiter(link, RateLimiterRegistry()) for link in links]
    for link in links:
        await link.close()


async def test_limiters_on_one_keyspace_together_admit_no_more_than_the_limit(
    limiters: list[SharedRateLimiter], isolated_config: AurelisConfig
) -> None:
    limit = target(per_minute=4)
    admitted: list[float] = []

    async def one(limiter: SharedRateLimiter) -> None:
        slot = await limiter.acquire(limit, isolated_config, mode="wait", max_wait=10)
        admitted.append(time.monotonic())
        await slot.release()

    await asyncio.gather(*(one(lim) for lim in limiters for _ in range(4)))  # 12 requests
    admitted.sort()
    assert len(admitted) == 12
    for i in range(len(admitted) - 4):
        # No window-long stretch holds more than 4 admissions, across all three.
        assert admitted[i + 4] - admitted[i] >= WINDOW * 0.95


async def test_an_interactive_request_is_refused_at_once_when_the_window_is_full(
    limiters: list[SharedRateLimiter], isolated_config: AurelisConfig
) -> None:
    first, second, _ = limiters
    limit = target(per_minute=2)
    for _ in range(2):
        await (await first.acquire(limit, isolated_config, mode="wait", max_wait=5)).release()
    started = time.perf_counter()
    with pytest.raises(ClientRateLimitError) as caught:
        await second.acquire(limit, isolated_config, mode="wait", max_wait=5, interactive=True)
    assert time.perf_counter() - started < WINDOW / 2  # no waiting for the window
    assert "2 requests per minute" in str(caught.value)
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


async def test_a_request_waits_for_a_concurrency_slot_another_process_holds(
    limiters: list[SharedRateLimiter], isolated_config: AurelisConfig
) -> None:
    first, second, _ = limiters
    limit = target(concurrent=1)
    held = await first.acquire(limit, isolated_config, mode="wait", max_wait=5)
    waiting = asyncio.ensure_future(second.acquire(limit, isolated_config, mode="wait", max_wait=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await held.release()
    await (await asyncio.wait_for(waiting, 2)).release()


async def test_an_interactive_request_never_queues_for_a_concurrency_slot(
    limiters: list[SharedRateLimiter], isolated_config: AurelisConfig
) -> None:
    first, second, _ = limiters
    limit = target(concurrent=1)
    held = await first.acquire(limit, isolated_config, mode="wait", max_wait=5)
    with pytest.raises(ClientRateLimitError, match="in flight"):
        await second.acquire(limit, isolated_config, mode="wait", max_wait=5, interactive=True)
    await held.release()


async def test_a_slot_held_by_a_process_that_died_comes_back_when_its_lease_expires(
    redis_url: str, isolated_config: AurelisConfig
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLD_A_SLOT, redis_url, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"HELD"
        holder.kill()  # dies holding its slot
        await holder.wait()
        link = SharedRedis(redis_url)
        limiter = SharedRateLimiter(link, RateLimiterRegistry())
        with pytest.raises(ClientRateLimitError):
            await limiter.acquire(
                target(concurrent=1), isolated_config, mode="wait", max_wait=0,
            )  # fmt: skip
        slot = await limiter.acquire(target(concurrent=1), isolated_config, mode="wait", max_wait=3)
        await slot.release()
        await link.close()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()


async def test_a_429_seen_by_one_process_holds_back_every_process(
    limiters: list[SharedRateLimiter], isolated_config: AurelisConfig
) -> None:
    first, second, _ = limiters
    await first.block(target(per_minute=10), isolated_config, 2.0)
    with pytest.raises(ClientRateLimitError, match="429") as caught:
        await second.acquire(target(per_minute=10), isolated_config, mode="fail", max_wait=5)
    assert caught.value.retry_after == pytest.approx(2.0, abs=0.3)


async def test_remaining_requests_reported_by_the_server_are_shared(
    limiters: list[SharedRateLimiter], isolated_config: AurelisConfig
) -> None:
    first, second, _ = limiters
    limit = target(per_minute=10)
    await first.observe(limit, isolated_config, RateLimitInfo(remaining_requests=3))
    assert await second.remaining(limit, isolated_config) == 3


async def test_without_redis_the_in_process_limiter_takes_over(
    isolated_config: AurelisConfig,
) -> None:
    link = SharedRedis(f"redis://127.0.0.1:{free_port()}/0")
    limiter = SharedRateLimiter(link, RateLimiterRegistry())
    isolated_config.rate_limits = {ModelType.GPT_4O_MINI: {"per_minute": 1}}
    limit = LimitTarget.of(KEYSPACE, ModelType.GPT_4O_MINI, "gpt-4o-mini", isolated_config)
    slot = await limiter.acquire(limit, isolated_config, mode="wait", max_wait=5)
    assert not slot.shared
    await slot.release()
    with pytest.raises(ClientRateLimitError):  # the in-process window is full now
        await limiter.acquire(limit, isolated_config, mode="fail", max_wait=5)


_HOLD_A_SLOT = """
import asyncio, sys
from aurelis.core.config import AurelisConfig
from aurelis.models.ratelimit import RateLimiterRegistry, RateLimits
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import keyspace_for
from aurelis.models.shared.ratelimit import LimitTarget, SharedRateLimiter
from aurelis.models.types import ModelType

async def main():
    keyspace = keyspace_for("http://127.0.0.1:9/v1", "team-token-0123456789")
    limiter = SharedRateLimiter(SharedRedis(sys.argv[1]), RateLimiterRegistry(), lease_seconds=0.6)
    target = LimitTarget(keyspace, ModelType.GPT_4O_MINI, "gpt-4o-mini",
                         RateLimits(None, None, 1), 0.02)
    await limiter.acquire(target, AurelisConfig.defaults(), mode="wait", max_wait=5)
    print("HELD", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""
