"""The shared state of one orchestrator: every shared part, for the configured Redis.

`SharedStateHolder.get(url)` returns the `SharedState` of that URL (built on first use,
rebuilt when the URL changes live, None when no URL is set). Budgets exist with or without
Redis: `holder.budgets(url)` counts in Redis when there is one, else in process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aurelis.core.config import AurelisConfig
from aurelis.models.breaker import BreakerRegistry
from aurelis.models.ratelimit import RateLimiterRegistry
from aurelis.models.shared.breaker import BreakerTarget, SharedBreakers
from aurelis.models.shared.budgets import TokenBudgets
from aurelis.models.shared.cache import SharedCache
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import Keyspace, keyspace_for
from aurelis.models.shared.ratelimit import LimitTarget, SharedRateLimiter
from aurelis.models.shared.singleflight import SharedSingleFlight
from aurelis.models.types import ModelType

__all__ = ["SharedState", "SharedStateHolder", "keyspace_of"]

Sleep = Callable[[float], Awaitable[None]]


def keyspace_of(config: AurelisConfig) -> Keyspace:
    """The keyspace of the endpoint and token in force."""
    token = config.token.get_secret_value() if config.token is not None else None
    return keyspace_for(config.endpoint, token)


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

    def limit_target(self, config: AurelisConfig, model: ModelType, deployment: str) -> LimitTarget:
        return LimitTarget.of(keyspace_of(config), model, deployment, config)

    def breaker_target(
        self, config: AurelisConfig, model: ModelType, deployment: str
    ) -> BreakerTarget:
        return BreakerTarget(keyspace_of(config), model, deployment)

    async def close(self) -> None:
        await self.redis.close()


class SharedStateHolder:
    """The orchestrator's handle on shared state; follows `redis_url` live."""

    def __init__(
        self,
        *,
        limiters: RateLimiterRegistry,
        breakers: BreakerRegistry,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._limiters, self._breakers, self._sleep = limiters, breakers, sleep
        self._state: SharedState | None = None
        self._local_budgets = TokenBudgets(None)
        self._retired: list[SharedState] = []

    def get(self, url: str | None) -> SharedState | None:
        """The shared state for `url` (None: nothing is shared)."""
        state = self._state
        if url is None:
            if state is not None:
                self._retire(state)
            return None
        if state is None or not state.redis.matches(url):
            if state is not None:
                self._retire(state)
            state = self._state = SharedState(
                url, limiters=self._limiters, breakers=self._breakers, sleep=self._sleep
            )
        return state

    def budgets(self, url: str | None) -> TokenBudgets:
        state = self.get(url)
        return state.budgets if state is not None else self._local_budgets

    def _retire(self, state: SharedState) -> None:
        # Closed at the next close(): the URL changed under requests that may still use it.
        self._state = None
        self._retired.append(state)

    async def close(self) -> None:
        states = [*self._retired, *([self._state] if self._state is not None else [])]
        self._retired, self._state = [], None
        for state in states:
            await state.close()  # never raises: the connection closes quietly
