"""Helpers shared by the orchestrator benchmarks (not a test module; no assertions)."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# Benchmarks run from a checkout: make `aurelis` importable without installing it.
SERVER = Path(__file__).resolve().parents[1] / "server"
if str(SERVER) not in sys.path:
    sys.path.insert(0, str(SERVER))

from aurelis.core.config import AurelisConfig, reset_config  # noqa: E402

TOKEN = "bench-token-0123456789"


def prompt_of(size: int, seed: int = 0) -> str:
    """A deterministic code-like prompt of `size` characters."""
    line = f"def function_{seed}(value):  # compute something useful with the value\n"
    text = "Refactor this module:\n" + line * (size // len(line) + 1)
    return text[:size]


def remote_config(url: str, **extra: object) -> AurelisConfig:
    config = reset_config()
    config.update(
        {
            "provider": "azure",
            "endpoint": url,
            "token": TOKEN,
            "token_source": "AURELIS_TOKEN",
            "local_fallback": False,
            **extra,
        }
    )
    return config


async def timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    """Seconds per call for `n` sequential calls."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"
