"""The shared state of one orchestrator, and the hooks the pipeline calls.

`SharedStateHolder` follows `redis_url` live: with it unset every hook is a no-op (or
None) and the pipeline runs exactly as in-process; with it set the hooks use the shared
limiter, cache tier, single-flight, breakers and budgets of `aurelis.models.shared`. The
local model is per machine: its breaker and limits always stay in-process. Budgets work
without Redis too (counted per process).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aurelis.core.config import AurelisConfig
from aurelis.models.breaker import BreakerRegistry
from aurelis.models.cache import CacheEntry, ResponseCache
from aurelis.models.outcome import Hit, Outcome, PreparedCall
from aurelis.models.providers.base import RateLimitInfo
from aurelis.models.ratelimit import Mode, RateLimiterRegistry
from aurelis.models.shared.breaker import BreakerTarget, SharedBreakers, SharedProbe
from aurelis.models.shared.budgets import TokenBudgets
from aurelis.models.shared.cache import SharedCache
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.handoff import handed_over, handoff
from aurelis.models.shared.keys import Keyspace, keyspace_for
from aurelis.models.shared.ratelimit import LimitTarget, SharedRateLimiter, SharedSlotHold
from aurelis.models.shared.singleflight import SharedSingleFlight
from aurelis.models.stats import StatsRegistry
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["SharedState", "SharedStateHolder", "keyspace_of", "is_interactive", "redis_url_of"]

Sleep = Callable[[float], Awaitable[None]]


def keyspace_of(config: AurelisConfig) -> Keyspace:
    """The keyspace of the endpoint and token in force."""
    token = config.token.get_secret_value() if config.token is not None else None
    return keyspace_for(config.endpoint, token)


def redis_url_of(config: AurelisConfig) -> str | None:
    return config.redis_url.get_secret_value() if config.redis_url is not None else None


def is_interactive(request: ModelRequest) -> bool:
    """Typed against (inline completions): waits on Redis ~50 ms at most, never queues."""
    metadata = request.metadata
    if not metadata:
        return False
    return metadata.get("feature") == "inline_completion" or metadata.get("interactive") is True


class SharedState:
    """Everything shared through one Redis."""

    def __init__(
        self,
        url: str,
        *,
        limiters: RateLimiterRegistry,
        breakers: BreakerRegistry,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.redis = SharedRedis(url)
        self.limiter = SharedRateLimiter(self.redis, limiters, sleep=sleep)
        self.breakers = SharedBreakers(self.redis, breakers)
        self.cache = SharedCache(self.redis)
        self.flights = SharedSingleFlight(self.redis, sleep=sleep)
        self.budgets = TokenBudgets(self.redis)

    async def close(self) -> None:
        await self.redis.close()


class SharedStateHolder:
    """The pipeline's handle on shared state (see the module docstring)."""

    def __init__(
        self,
        *,
        limiters: RateLimiterRegistry,
        breakers: BreakerRegistry,
        cache: ResponseCache,
        stats: StatsRegistry,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._limiters, self._breakers, self._sleep = limiters, breakers, sleep
        self._cache, self._stats = cache, stats  # the pipeline's memory and disk tiers
        self._state: SharedState | None = None
        self._local_budgets = TokenBudgets(None)
        self._retired: list[SharedState] = []

    def state(self, config: AurelisConfig) -> SharedState | None:
        """The shared state for the configured URL (None: nothing is shared)."""
        url = redis_url_of(config)
        state = self._state
        if state is not None and (url is None or not state.redis.matches(url)):
            # Closed at close(): requests still under way may be using it.
            self._retired.append(state)
            state = self._state = None
        if url is not None and state is None:
            state = self._state = SharedState(
                url, limiters=self._limiters, breakers=self._breakers, sleep=self._sleep
            )
        return state

    def budgets(self, config: AurelisConfig) -> TokenBudgets:
        state = self.state(config)
        return state.budgets if state is not None else self._local_budgets

    # --- cache and single-flight ------------------------------------------------------------
    async def cached(
        self, config: AurelisConfig, key: str, *, interactive: bool
    ) -> CacheEntry | None:
        state = self.state(config)
        if state is None:
            return None
        return await state.cache.get(
            keyspace_of(config), key, ttl=config.cache_ttl, interactive=interactive
        )

    async def clear_cache(self, config: AurelisConfig) -> int:
        """Drop this team's shared cache entries (this endpoint and token); 0 without Redis."""
        state = self.state(config)
        if state is None:
            return 0
        keyspace = keyspace_of(config)
        await state.flights.forget_results(keyspace)
        return await state.cache.clear(keyspace)

    async def store(self, config: AurelisConfig, key: str, entry: CacheEntry) -> None:
        state = self.state(config)
        if state is not None:
            await state.cache.put(
                keyspace_of(config),
                key,
                entry,
                ttl=config.cache_ttl,
                max_entries=config.cache_max_size,
            )

    async def lower_tiers(
        self, config: AurelisConfig, key: str | None, request: ModelRequest
    ) -> Hit | None:
        """After a memory miss: the shared tier, then the disk (None without Redis)."""
        if key is None or not config.cache_enabled or self.state(config) is None:
            return None
        entry = await self.cached(config, key, interactive=is_interactive(request))
        if entry is None:
            entry = self._cache.get(key, config)  # the disk tier
        else:
            self._cache.put(key, entry, config)  # the next identical request stays in memory
        if entry is None:
            return None
        self._stats[entry.model_used].cache_hits += 1
        return Hit(entry)

    async def one_call(
        self,
        config: AurelisConfig,
        key: str | None,
        request: ModelRequest,
        call: Callable[[], Awaitable[Outcome]],
    ) -> Outcome:
        """`call()` made by one process for everyone asking the same at once (Redis);
        the others get its answer as a cache hit. Without Redis, simply `call()`."""
        state = self.state(config)
        if state is None or key is None:
            return await call()
        outcome, _ = await state.flights.do(
            keyspace_of(config),
            key,
            call,
            encode=handoff,
            decode=handed_over,
            max_wait=config.deadline,
            interactive=is_interactive(request),
        )
        return outcome

    # --- one call ---------------------------------------------------------------------------
    def guards(
        self,
        config: AurelisConfig,
        model: ModelType,
        deployment: str,
        *,
        mode: Mode,
        max_wait: float,
        interactive: bool,
    ) -> tuple[SharedProbe, SharedSlotHold] | None:
        """The shared breaker probe and rate-limit slot of one call (None: use local ones)."""
        state = self.state(config)
        if state is None or model is ModelType.LOCAL:
            return None
        keyspace = keyspace_of(config)
        probe = state.breakers.probe(
            BreakerTarget(keyspace, model, deployment), config, interactive=interactive
        )
        slot = state.limiter.slot(
            LimitTarget.of(keyspace, model, deployment, config),
            config,
            mode=mode,
            max_wait=max_wait,
            interactive=interactive,
        )
        return probe, slot

    async def check_budget(
        self, config: AurelisConfig, model: ModelType, *, interactive: bool
    ) -> None:
        """BudgetExhaustedError when a daily budget that applies to `model` is used up."""
        if config.budgets and model is not ModelType.LOCAL:
            await self.budgets(config).check(
                keyspace_of(config), model, config.budgets, interactive=interactive
            )

    async def answered(
        self, config: AurelisConfig, prepared: PreparedCall, info: RateLimitInfo, tokens: int
    ) -> None:
        """Share what the answer's headers said, and count its tokens."""
        model, deployment = prepared.model, prepared.resolved.deployment
        if model is ModelType.LOCAL:
            return
        state = self.state(config)
        if state is not None:
            target = LimitTarget.of(keyspace_of(config), model, deployment, config)
            await state.limiter.observe(target, config, info)
        if state is not None or config.budgets:
            await self.budgets(config).spend(keyspace_of(config), model, tokens)

    async def throttled(
        self,
        config: AurelisConfig,
        model: ModelType,
        deployment: str,
        retry_after: float | None,
    ) -> None:
        """The server answered 429: hold every process back (the local limiter is the
        pipeline's own business)."""
        state = self.state(config)
        if state is not None and model is not ModelType.LOCAL:
            target = LimitTarget.of(keyspace_of(config), model, deployment, config)
            await state.limiter.block(target, config, retry_after, local=False)

    async def close(self) -> None:
        states = [*self._retired, *([self._state] if self._state is not None else [])]
        self._retired, self._state = [], None
        for state in states:
            await state.close()  # never raises: the connection closes quietly
