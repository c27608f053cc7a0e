"""What the team shares, read for the command line: today's token use against the daily
budgets (`aurelis usage`, `aurelis models`) and the shared breakers (`aurelis models`)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from aurelis.core.config import AurelisConfig
from aurelis.core.redis_url import redact_url
from aurelis.models.breaker import BreakerRegistry, BreakerState
from aurelis.models.routing import resolve
from aurelis.models.shared.breaker import BreakerTarget, SharedBreakers
from aurelis.models.shared.budgets import TOTAL, BudgetUsage, TokenBudgets
from aurelis.models.shared.connection import SharedRedis, SharedUnavailable
from aurelis.models.shared.state import keyspace_of
from aurelis.models.types import ModelType

__all__ = ["UsageReport", "usage_today", "shared_breakers"]


@dataclass(frozen=True)
class UsageReport:
    """One row per remote model that has a budget or was used today, then the total."""

    rows: list[BudgetUsage]
    #: The Redis the counts come from (masked URL); None: this process's own counts.
    shared_through: str | None


async def usage_today(config: AurelisConfig, budgets: TokenBudgets | None = None) -> UsageReport:
    """Read the counts (from Redis when `redis_url` is set; never raises because of it)."""
    url = config.redis_url.get_secret_value() if config.redis_url is not None else None
    link = SharedRedis(url) if budgets is None and url is not None else None
    counter = budgets or TokenBudgets(link)
    names = [model.value for model in ModelType if model is not ModelType.LOCAL] + [TOTAL]
    try:
        usage = await counter.usage(keyspace_of(config), names, config.budgets)
    finally:
        if link is not None:
            await link.close()
    rows = [row for row in usage if row.name == TOTAL or row.used or row.limit is not None]
    shared = url is not None and all(row.shared for row in usage)
    return UsageReport(rows, redact_url(url) if shared and url else None)


async def shared_breakers(config: AurelisConfig) -> dict[str, tuple[BreakerState, float]]:
    """Each remote model's breaker as every process sees it: (state, seconds to the next
    probe). Empty without `redis_url`, or when Redis does not answer."""
    url = config.redis_url.get_secret_value() if config.redis_url is not None else None
    if url is None:
        return {}
    link = SharedRedis(url)
    breakers = SharedBreakers(link, BreakerRegistry())
    keyspace = keyspace_of(config)
    states: dict[str, tuple[BreakerState, float]] = {}
    try:
        await link.run(_ping)  # one check up front: down means "unknown", not "closed"
        for model in ModelType:
            if model is not ModelType.LOCAL:
                target = BreakerTarget(keyspace, model, resolve(model, config).deployment)
                states[model.value] = await breakers.status(target, config)
    except SharedUnavailable:
        return {}
    finally:
        await link.close()
    return states


async def _ping(client: Redis) -> object:
    return await client.ping()
