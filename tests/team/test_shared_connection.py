"""The Redis link degrades instead of failing: timeouts, one warning per outage, fast
failure while down, and reconnection with backoff after a restart."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis
from tests.team.redis_process import RedisProcess, free_port

from aurelis.models.shared.connection import SharedRedis, SharedUnavailable
from aurelis.models.shared.health import check_redis

PASSWORD = "team-redis-Passw0rd"


async def ping(client: Redis) -> bool:
    return bool(await client.ping())


async def test_calls_reach_redis(redis_url: str) -> None:
    link = SharedRedis(redis_url)
    assert await link.run(ping) is True
    assert link.available
    await link.close()


async def test_an_unreachable_redis_raises_shared_unavailable_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    link = SharedRedis(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0", backoff_initial=0.0)
    caplog.set_level(logging.WARNING, logger="aurelis.models.shared")
    for _ in range(3):
        with pytest.raises(SharedUnavailable):
            await link.run(ping)
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert "127.0.0.1" in warnings[0].getMessage()
    assert PASSWORD not in caplog.text


async def test_while_redis_is_down_callers_do_not_wait_on_it() -> None:
    link = SharedRedis(f"redis://127.0.0.1:{free_port()}/0", backoff_initial=30.0)
    with pytest.raises(SharedUnavailable):
        await link.run(ping)
    calls: list[int] = []

    async def counted(client: Redis) -> bool:
        calls.append(1)
        return True

    with pytest.raises(SharedUnavailable):
        await link.run(counted)
    assert calls == []  # refused before any attempt to reach Redis
    assert not link.available


async def test_a_stalled_redis_costs_an_interactive_call_its_short_timeout_only(
    redis_process: RedisProcess,
) -> None:
    link = SharedRedis(redis_process.url, interactive_timeout=0.05)
    await link.run(ping)
    stall = asyncio.get_running_loop().run_in_executor(None, _stall_redis, redis_process, 1.0)
    await asyncio.sleep(0.1)  # the stall has begun
    started = time.perf_counter()
    with pytest.raises(SharedUnavailable):
        await link.run(ping, interactive=True)
    assert time.perf_counter() - started < 0.5  # far below the 1 s stall
    await stall
    await link.close()


async def test_one_slow_interactive_answer_does_not_mark_redis_down(
    redis_process: RedisProcess,
) -> None:
    link = SharedRedis(redis_process.url, interactive_timeout=0.05, backoff_initial=30.0)
    stall = asyncio.get_running_loop().run_in_executor(None, _stall_redis, redis_process, 0.3)
    await asyncio.sleep(0.1)
    with pytest.raises(SharedUnavailable):
        await link.run(ping, interactive=True)
    await stall
    assert link.available
    assert await link.run(ping) is True
    await link.close()


async def test_after_a_restart_the_link_reconnects_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisProcess(tmp_path).start()
    caplog.set_level(logging.WARNING, logger="aurelis.models.shared")
    link = SharedRedis(server.url, backoff_initial=0.05)
    try:
        assert await link.run(ping)
        server.stop()
        with pytest.raises(SharedUnavailable):
            await link.run(ping)
        server.start()
        await asyncio.sleep(0.1)  # past the backoff
        assert await link.run(ping)
        assert link.available
        assert "reachable again" in caplog.text
    finally:
        await link.close()
        server.stop()


async def test_a_wrong_password_degrades_without_showing_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisProcess(tmp_path, password="the-right-one").start()
    caplog.set_level(logging.WARNING, logger="aurelis.models.shared")
    link = SharedRedis(f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0")
    try:
        with pytest.raises(SharedUnavailable):
            await link.run(ping)
        assert "unavailable" in caplog.text
        assert PASSWORD not in caplog.text
    finally:
        server.stop()


def _stall_redis(server: RedisProcess, seconds: float) -> None:
    client = redis.Redis.from_url(server.url)
    try:
        client.execute_command("DEBUG", "SLEEP", str(seconds))
    finally:
        client.close()


async def test_the_health_check_reports_version_and_round_trip(redis_url: str) -> None:
    health = await check_redis(redis_url)
    assert health.ok
    assert health.version is not None and health.version.startswith("7.")
    assert "state is shared" in health.detail


async def test_the_health_check_says_why_redis_is_unusable_without_the_password() -> None:
    health = await check_redis(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0", time_limit=1.0)
    assert not health.ok
    assert "cannot use redis://***@127.0.0.1" in health.detail
    assert PASSWORD not in health.detail
    assert health.hint is not None and "AURELIS_REDIS_URL" in health.hint
