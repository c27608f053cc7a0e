"""Today's token use against the daily budgets, for `aurelis usage` and `aurelis models`."""

from __future__ import annotations

from dataclasses import dataclass

from aurelis.core.config import AurelisConfig
from aurelis.core.redis_url import redact_url
from aurelis.models.shared.budgets import TOTAL, BudgetUsage, TokenBudgets
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.state import keyspace_of
from aurelis.models.types import ModelType

__all__ = ["UsageReport", "usage_today"]


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
