"""Fixtures of the team-scale tests: one real redis-server per test session, emptied
before each test, and fresh servers for tests that kill theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.team.redis_process import RedisProcess


@pytest.fixture(scope="session")
def redis_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_process: RedisProcess) -> str:
    """The session's Redis, empty."""
    client = redis.Redis.from_url(redis_process.url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_process.url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of this test alone (it may kill and restart it)."""
    server = RedisProcess(tmp_path).start()
    yield server
    server.stop()
