"""Daily token budgets per model and in total, shared by everyone on one endpoint and token.

`budgets = {"gpt-4o": 200000, "total": 1000000}` caps the tokens spent per UTC day on a
model, and on all remote models together (the local model is free and never counted, so
an exhausted budget can always fall back to it). Days are counted on Redis's clock; each
count resets itself on its first use of a new day. Before a call the budget is checked,
after it the tokens are added; requests in flight when the limit is reached may overshoot
it by their own size. Without Redis the same counts are kept per process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from aurelis.models.ratelimit import ClientRateLimitError
from aurelis.models.shared.connection import LuaScript, SharedRedis, SharedUnavailable
from aurelis.models.shared.keys import Keyspace
from aurelis.models.types import ModelType

__all__ = [
    "TOTAL",
    "BudgetExhaustedError",
    "BudgetUsage",
    "TokenBudgets",
    "budget_names",
]

Clock = Callable[[], float]

#: The budget key for all remote models together.
TOTAL = "total"
DAY_SECONDS = 86_400
_KEEP_SECONDS = 2 * DAY_SECONDS

# -> {used per key..., now in seconds}; with ARGV[1] > 0 the tokens are added first.
_COUNT = LuaScript(
    "aurelis_budget_count",
    """
local now = tonumber(redis.call('TIME')[1])
local day = math.floor(now / 86400)
local add = tonumber(ARGV[1])
local result = {}
for i, key in ipairs(KEYS) do
  local used = 0
  if tonumber(redis.call('HGET', key, 'day') or '-1') == day then
    used = tonumber(redis.call('HGET', key, 'used') or '0')
  end
  if add > 0 then
    used = used + add
    redis.call('HSET', key, 'day', day, 'used', used)
    redis.call('EXPIRE', key, ARGV[2])
  end
  result[i] = used
end
result[#KEYS + 1] = now
return result
""",
)


class BudgetExhaustedError(ClientRateLimitError):
    """A daily token budget is used up; `retry_after` is the seconds until it resets."""

    def __init__(self, usage: BudgetUsage) -> None:
        subject = "all remote models" if usage.name == TOTAL else usage.name
        super().__init__(
            f"the daily token budget of {subject} is used up ({usage.used:,} of "
            f"{usage.limit:,} tokens today, shared by everyone on this endpoint and token); "
            f"it resets at 00:00 UTC, in {_duration(usage.resets_in)}",
            retry_after=usage.resets_in,
            model=None if usage.name == TOTAL else usage.name,
            hint="raise `budgets` in the config, or wait for the reset",
        )
        self.usage = usage


@dataclass(frozen=True)
class BudgetUsage:
    """Tokens used today under one budget name (a model value, or "total")."""

    name: str
    used: int
    limit: int | None
    resets_in: float  # seconds until 00:00 UTC
    shared: bool  # counted in Redis (False: this process alone)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit


def budget_names(model: ModelType) -> list[str]:
    """The budgets a call to `model` counts against (none for the local model)."""
    return [] if model is ModelType.LOCAL else [model.value, TOTAL]


class TokenBudgets:
    """Checks and counts daily token use, in Redis when there is one, else in process."""

    def __init__(self, redis: SharedRedis | None, *, wall: Clock = time.time) -> None:
        self._redis = redis
        self._wall = wall
        self._local: dict[tuple[str, str], tuple[int, int]] = {}  # (namespace, name) -> day, used

    async def check(
        self,
        keyspace: Keyspace,
        model: ModelType,
        budgets: Mapping[str, int],
        *,
        interactive: bool = False,
    ) -> None:
        """Raise BudgetExhaustedError when a budget that applies to `model` is used up."""
        names = [name for name in budget_names(model) if name in budgets]
        if not names:
            return
        for usage in await self._count(keyspace, names, budgets, 0, interactive):
            if usage.exhausted:
                raise BudgetExhaustedError(usage)

    async def spend(self, keyspace: Keyspace, model: ModelType, tokens: int) -> None:
        """Add what a call to `model` used (every remote call counts, budget or not)."""
        names = budget_names(model)
        if names and tokens > 0:
            await self._count(keyspace, names, {}, tokens, False)

    async def usage(
        self, keyspace: Keyspace, names: Iterable[str], budgets: Mapping[str, int]
    ) -> list[BudgetUsage]:
        """Today's use of each name (a model value or "total"), with its limit if any."""
        return await self._count(keyspace, list(names), budgets, 0, False)

    async def _count(
        self,
        keyspace: Keyspace,
        names: list[str],
        budgets: Mapping[str, int],
        add: int,
        interactive: bool,
    ) -> list[BudgetUsage]:
        if self._redis is not None:
            keys = [keyspace.key("budget", name) for name in names]
            with contextlib.suppress(SharedUnavailable):
                *used, now = await self._redis.script(
                    _COUNT, keys, [add, _KEEP_SECONDS], interactive=interactive
                )
                return _usages(names, [int(u) for u in used], budgets, int(now), shared=True)
        now = int(self._wall())
        day = now // DAY_SECONDS
        counts = []
        for name in names:
            seen_day, used = self._local.get((keyspace.namespace, name), (day, 0))
            used = (used if seen_day == day else 0) + add
            if add:
                self._local[(keyspace.namespace, name)] = (day, used)
            counts.append(used)
        return _usages(names, counts, budgets, now, shared=False)


def _usages(
    names: list[str], used: list[int], budgets: Mapping[str, int], now: int, *, shared: bool
) -> list[BudgetUsage]:
    resets_in = float(DAY_SECONDS - now % DAY_SECONDS)
    return [
        BudgetUsage(name, count, budgets.get(name), resets_in, shared)
        for name, count in zip(names, used, strict=True)
    ]


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes} min"
