"""Per-model counters and latency percentiles for `get_stats()` and `health()`."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aurelis.core.secrets import redact
from aurelis.models.types import ModelType

__all__ = ["ModelStats", "StatsRegistry", "percentile"]

#: Latency samples kept per model: enough for a stable p95, bounded in memory.
LATENCY_SAMPLES = 1024


def percentile(samples: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of `samples` (None when empty)."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


@dataclass
class ModelStats:
    """What happened to one model. `requests` counts upstream calls, retries included."""

    requests: int = 0
    failures: int = 0
    cache_hits: int = 0
    tokens: int = 0
    fallbacks_to: int = 0  # answers this model gave after another model failed
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    last_error: str | None = None
    last_error_at: float | None = None  # time.time()

    def success(self, seconds: float, tokens: int) -> None:
        self.requests += 1
        self.tokens += tokens
        self.latencies.append(seconds)
        self.last_error = None

    def failure(self, error: BaseException) -> None:
        self.requests += 1
        self.failures += 1
        self.last_error = redact(f"{type(error).__name__}: {error}")
        self.last_error_at = time.time()

    def snapshot(self) -> dict[str, Any]:
        samples = list(self.latencies)
        return {
            "requests": self.requests,
            "failures": self.failures,
            "cache_hits": self.cache_hits,
            "tokens": self.tokens,
            "fallback_answers": self.fallbacks_to,
            "latency_p50_ms": _ms(percentile(samples, 0.50)),
            "latency_p95_ms": _ms(percentile(samples, 0.95)),
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class StatsRegistry:
    """ModelStats for every ModelType, created up front so reports list every model."""

    def __init__(self) -> None:
        self._stats = {model: ModelStats() for model in ModelType}

    def __getitem__(self, model: ModelType) -> ModelStats:
        return self._stats[model]

    def items(self) -> list[tuple[ModelType, ModelStats]]:
        return list(self._stats.items())
