"""The Redis tier of the response cache: an answer one process paid for is a hit in all.

Between the in-memory tier and the optional sqlite file, under the same key (the cache key
already covers model, deployment, endpoint, prompt and parameters; the keyspace adds the
token), the same TTL (`cache_ttl`, read live) and the same size bound (`cache_max_size`
entries, least recently used out first). Values larger than `COMPRESS_OVER` bytes are
zlib-compressed; anything unreadable is dropped and counts as a miss.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable

from redis.asyncio import Redis

from aurelis.models.cache import CacheEntry
from aurelis.models.shared.connection import LuaScript, SharedRedis, SharedUnavailable
from aurelis.models.shared.keys import Keyspace

__all__ = ["SharedCache", "encode_entry", "decode_entry", "COMPRESS_OVER", "MAX_VALUE_BYTES"]

logger = logging.getLogger("aurelis.models.shared")

Clock = Callable[[], float]

#: Values above this many bytes are stored compressed.
COMPRESS_OVER = 1024
#: An entry bigger than this (after compression) is not shared: it would crowd out others.
MAX_VALUE_BYTES = 4 * 1024 * 1024
_PLAIN, _ZLIB = b"j", b"z"
#: How long clearing may take (it walks the namespace).
_CLEAR_TIMEOUT = 10.0

# One round trip per lookup: the value, and its use recorded for the LRU bound.
_GET = LuaScript(
    "aurelis_cache_get",
    """
local value = redis.call('GET', KEYS[1])
if value then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[2], 'XX', now, ARGV[1])
end
return value
""",
)

# Members of the index are cache keys; the value of member m lives at ARGV[5] .. m.
_PUT = LuaScript(
    "aurelis_cache_put",
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl, bound = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], now, ARGV[1])
-- unused for a whole ttl: the value has expired already
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
local excess = redis.call('ZCARD', KEYS[2]) - bound
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, excess - 1)
  for _, member in ipairs(oldest) do
    redis.call('UNLINK', ARGV[5] .. member)
  end
  redis.call('ZREM', KEYS[2], unpack(oldest))
end
redis.call('PEXPIRE', KEYS[2], 2 * ttl)
return excess
""",
)


def encode_entry(entry: CacheEntry) -> bytes:
    data = entry.to_json().encode("utf-8")
    if len(data) > COMPRESS_OVER:
        return _ZLIB + zlib.compress(data, 6)
    return _PLAIN + data


def decode_entry(blob: bytes) -> CacheEntry:
    """The entry stored as `blob`; ValueError when it is not one of ours."""
    kind, body = blob[:1], blob[1:]
    if kind == _ZLIB:
        try:
            body = zlib.decompress(body)
        except zlib.error as error:
            raise ValueError(f"bad compressed cache value: {error}") from None
    elif kind != _PLAIN:
        raise ValueError("unknown cache value format")
    try:
        return CacheEntry.from_json(body.decode("utf-8"))
    except (KeyError, TypeError, UnicodeDecodeError) as error:
        raise ValueError(f"bad cache value: {error}") from None


class SharedCache:
    """Cache entries in Redis, per keyspace. Every miss is cheap; no error escapes."""

    def __init__(self, redis: SharedRedis, *, wall: Clock = time.time) -> None:
        self._redis = redis
        self._wall = wall

    async def get(
        self, keyspace: Keyspace, key: str, *, ttl: int, interactive: bool = False
    ) -> CacheEntry | None:
        """The fresh entry for `key`, or None (also when Redis does not answer in time)."""
        if ttl <= 0:
            return None
        try:
            blob = await self._redis.script(
                _GET,
                [_value_key(keyspace, key), _index_key(keyspace)],
                [key],
                interactive=interactive,
            )
        except SharedUnavailable:
            return None
        if blob is None:
            return None
        try:
            entry = decode_entry(bytes(blob))
        except ValueError as error:
            logger.warning("dropping an unreadable shared cache entry (%s)", error)
            await self.delete(keyspace, key)
            return None
        # The TTL may have been lowered since the entry was stored.
        return entry if entry.stored_at >= self._wall() - ttl else None

    async def put(
        self, keyspace: Keyspace, key: str, entry: CacheEntry, *, ttl: int, max_entries: int
    ) -> bool:
        """Store `entry` for every process; False when it was not (too big, Redis away)."""
        if ttl <= 0 or max_entries <= 0:
            return False
        blob = encode_entry(entry)
        if len(blob) > MAX_VALUE_BYTES:
            return False
        args: list[str | int | bytes] = [
            key,
            blob,
            ttl * 1000,
            max_entries,
            _value_key(keyspace, ""),
        ]
        try:
            await self._redis.script(_PUT, [_value_key(keyspace, key), _index_key(keyspace)], args)
        except SharedUnavailable:
            return False
        return True

    async def delete(self, keyspace: Keyspace, key: str) -> None:
        async def drop(client: Redis) -> None:
            await client.unlink(_value_key(keyspace, key))
            await client.zrem(_index_key(keyspace), key)

        try:
            await self._redis.run(drop)
        except SharedUnavailable:
            pass

    async def count(self, keyspace: Keyspace) -> int | None:
        """Entries in this keyspace (None when Redis does not answer)."""

        async def card(client: Redis) -> int:
            return int(await client.zcard(_index_key(keyspace)))

        try:
            return await self._redis.run(card)
        except SharedUnavailable:
            return None

    async def clear(self, keyspace: Keyspace) -> int:
        """Drop every entry of this keyspace; returns how many went (0 when Redis is away)."""

        async def drop_all(client: Redis) -> int:
            dropped = 0
            batch: list[bytes] = []
            async for name in client.scan_iter(match=_value_key(keyspace, "*"), count=500):
                batch.append(name)
                if len(batch) >= 500:
                    dropped += int(await client.unlink(*batch))
                    batch = []
            if batch:
                dropped += int(await client.unlink(*batch))
            await client.unlink(_index_key(keyspace))
            return dropped

        try:
            return await self._redis.run(drop_all, time_limit=_CLEAR_TIMEOUT)
        except SharedUnavailable:
            return 0


def _value_key(keyspace: Keyspace, key: str) -> str:
    return keyspace.key("c", key)


def _index_key(keyspace: Keyspace) -> str:
    return keyspace.key("cache-index")
