"""The Redis cache tier: a hit in one process is a hit in all, within the same TTL and
size bound, large values compressed, bad values dropped, Redis trouble a plain miss."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis
from tests.team.redis_process import free_port

from aurelis.models.cache import CacheEntry
from aurelis.models.shared.cache import SharedCache
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import keyspace_for
from aurelis.models.types import ModelType

KEYSPACE = keyspace_for("http://127.0.0.1:9/v1", "team-token-0123456789")


def entry(content: str = "def add(a, b):\n    return a + b\n") -> CacheEntry:
    return CacheEntry(
        content=content,
        model_used=ModelType.CODESTRAL_2501,
        tokens_used=42,
        metadata={"deployment": "Codestral-2501", "finish_reason": "stop"},
        stored_at=time.time(),
    )


@pytest.fixture
async def caches(redis_url: str) -> AsyncIterator[tuple[SharedCache, SharedCache]]:
    links = SharedRedis(redis_url), SharedRedis(redis_url)
    yield SharedCache(links[0]), SharedCache(links[1])
    for link in links:
        await link.close()


async def test_an_entry_stored_by_one_process_is_a_hit_in_another(
    caches: tuple[SharedCache, SharedCache],
) -> None:
    writer, reader = caches
    assert await writer.put(KEYSPACE, "k1", entry(), ttl=60, max_entries=10)
    found = await reader.get(KEYSPACE, "k1", ttl=60)
    assert found is not None
    assert found.content == entry().content
    assert found.model_used is ModelType.CODESTRAL_2501
    assert found.metadata["deployment"] == "Codestral-2501"


async def test_another_token_does_not_see_the_entry(
    caches: tuple[SharedCache, SharedCache],
) -> None:
    writer, reader = caches
    await writer.put(KEYSPACE, "k1", entry(), ttl=60, max_entries=10)
    other = keyspace_for("http://127.0.0.1:9/v1", "someone-elses-token-987")
    assert await reader.get(other, "k1", ttl=60) is None


async def test_a_large_value_is_stored_compressed(
    caches: tuple[SharedCache, SharedCache], redis_url: str
) -> None:
    writer, reader = caches
    big = "x = 1\n" * 5000
    await writer.put(KEYSPACE, "big", entry(big), ttl=60, max_entries=10)
    raw = redis.Redis.from_url(redis_url).get(KEYSPACE.key("c", "big"))
    assert raw is not None and raw.startswith(b"z") and len(raw) < len(big) // 10
    found = await reader.get(KEYSPACE, "big", ttl=60)
    assert found is not None and found.content == big


async def test_a_lowered_ttl_turns_an_older_entry_into_a_miss(
    caches: tuple[SharedCache, SharedCache],
) -> None:
    writer, reader = caches
    old = CacheEntry("old answer", ModelType.CODESTRAL_2501, 3, {}, stored_at=time.time() - 120)
    await writer.put(KEYSPACE, "k1", old, ttl=3600, max_entries=10)
    assert await reader.get(KEYSPACE, "k1", ttl=3600) is not None
    assert await reader.get(KEYSPACE, "k1", ttl=60) is None


async def test_the_least_recently_used_entries_leave_beyond_the_size_bound(
    caches: tuple[SharedCache, SharedCache],
) -> None:
    writer, reader = caches
    for name in ("a", "b", "c"):
        await writer.put(KEYSPACE, name, entry(name), ttl=60, max_entries=3)
        await asyncio.sleep(0.002)  # distinct milliseconds on Redis's clock
    assert await reader.get(KEYSPACE, "a", ttl=60) is not None  # "a" is now the most recent
    await asyncio.sleep(0.002)
    await writer.put(KEYSPACE, "d", entry("d"), ttl=60, max_entries=3)
    assert await reader.get(KEYSPACE, "b", ttl=60) is None
    for name in ("a", "c", "d"):
        assert await reader.get(KEYSPACE, name, ttl=60) is not None
    assert await reader.count(KEYSPACE) == 3


async def test_an_unreadable_value_is_a_miss_and_is_dropped(
    caches: tuple[SharedCache, SharedCache], redis_url: str
) -> None:
    _, reader = caches
    client = redis.Redis.from_url(redis_url)
    client.set(KEYSPACE.key("c", "bad"), b"z\x00not zlib at all")
    assert await reader.get(KEYSPACE, "bad", ttl=60) is None
    assert client.exists(KEYSPACE.key("c", "bad")) == 0


async def test_clear_drops_every_entry_of_the_keyspace_only(
    caches: tuple[SharedCache, SharedCache],
) -> None:
    writer, reader = caches
    other = keyspace_for("http://127.0.0.1:9/v1", "someone-elses-token-987")
    for name in ("a", "b"):
        await writer.put(KEYSPACE, name, entry(name), ttl=60, max_entries=10)
    await writer.put(other, "a", entry("theirs"), ttl=60, max_entries=10)
    assert await reader.clear(KEYSPACE) == 2
    assert await reader.get(KEYSPACE, "a", ttl=60) is None
    assert await reader.get(other, "a", ttl=60) is not None


async def test_without_redis_the_tier_is_a_miss_and_stores_nothing() -> None:
    cache = SharedCache(SharedRedis(f"redis://127.0.0.1:{free_port()}/0"))
    assert await cache.put(KEYSPACE, "k1", entry(), ttl=60, max_entries=10) is False
    assert await cache.get(KEYSPACE, "k1", ttl=60) is None
