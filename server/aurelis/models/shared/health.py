"""Is the configured Redis usable for shared state? (`aurelis doctor`)

Unlike the request path, this check reports *why* not: the URL (masked), the error, and
whether Redis runs server-side scripts (every shared limit is one) and how fast it answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from aurelis.core.exceptions import ConfigurationError
from aurelis.core.redis_url import check_url, redact_url, url_secrets
from aurelis.core.secrets import redact
from aurelis.models.shared.connection import SharedRedis, SharedUnavailable

__all__ = ["RedisHealth", "check_redis"]

#: Redis 7 is what the scripts are written and tested against.
MIN_MAJOR_VERSION = 7


@dataclass(frozen=True)
class RedisHealth:
    ok: bool
    detail: str
    hint: str | None = None
    version: str | None = None
    round_trip_ms: float | None = None


async def check_redis(url: str, *, time_limit: float = 3.0) -> RedisHealth:
    """Connect, ping, run a script, read the server's clock and version."""
    shown = redact_url(url)
    try:
        check_url(url)
    except ConfigurationError as error:
        return RedisHealth(False, str(error))
    link = SharedRedis(url, timeout=time_limit, backoff_initial=0.0)
    try:
        version, round_trip = await link.run(_probe, time_limit=time_limit)
    except SharedUnavailable as error:
        return RedisHealth(
            False,
            f"cannot use {shown}: {redact(str(error), url_secrets(url))}",
            hint="start Redis, check host, port and password in AURELIS_REDIS_URL "
            "(until then every process keeps its own limits and cache)",
        )
    finally:
        await link.close()
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    detail = f"{shown}: Redis {version}, {round_trip:.2f} ms round trip; state is shared"
    if major < MIN_MAJOR_VERSION:
        return RedisHealth(
            True, detail, f"Redis {MIN_MAJOR_VERSION} or later is recommended", version
        )
    return RedisHealth(True, detail, None, version, round_trip)


async def _probe(client: Redis) -> tuple[str, float]:
    started = time.perf_counter()
    await client.ping()
    round_trip = (time.perf_counter() - started) * 1000
    if int(await client.eval("return 1", 0)) != 1:  # scripts are how every limit is shared
        raise RedisError("server-side scripts do not run")
    await client.time()
    info = await client.info("server")
    return str(info.get("redis_version", "unknown")), round_trip
