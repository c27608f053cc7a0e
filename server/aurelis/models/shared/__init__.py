"""State shared by every Aurelis process through Redis (`redis_url`), with in-process
fallbacks: rate limits, the second cache tier, single-flight, breakers and budgets.

Each part takes a `SharedRedis` (one per process) and a `Keyspace` (one per endpoint and
token, from `keyspace_for`). None of them ever raises because Redis failed: they fall back
to in-process state within a short timeout, as `connection` describes.
"""

from __future__ import annotations

from aurelis.core.redis_url import check_url, redact_url
from aurelis.models.shared.breaker import BreakerPass, BreakerTarget, SharedBreakers
from aurelis.models.shared.budgets import (
    TOTAL,
    BudgetExhaustedError,
    BudgetUsage,
    TokenBudgets,
)
from aurelis.models.shared.cache import SharedCache
from aurelis.models.shared.connection import SharedRedis, SharedUnavailable
from aurelis.models.shared.keys import Keyspace, keyspace_for
from aurelis.models.shared.ratelimit import LimitTarget, SharedRateLimiter, SharedSlot
from aurelis.models.shared.singleflight import SharedSingleFlight

__all__ = [
    "TOTAL",
    "BreakerPass",
    "BreakerTarget",
    "BudgetExhaustedError",
    "BudgetUsage",
    "Keyspace",
    "LimitTarget",
    "SharedBreakers",
    "SharedCache",
    "SharedRateLimiter",
    "SharedRedis",
    "SharedSingleFlight",
    "SharedSlot",
    "SharedUnavailable",
    "TokenBudgets",
    "check_url",
    "keyspace_for",
    "redact_url",
]
