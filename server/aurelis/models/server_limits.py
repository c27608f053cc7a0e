"""What servers told us about their limits, remembered for the rest of the process.

A server that rejects a prompt as too long ("maximum context length is 4096 tokens … you
requested 18923") tells us its real context window and, compared with our own count of
the same prompt, how many of its tokens one of ours (cl100k) is worth. Routing applies
both to later requests for the same (endpoint, deployment), so they fit the first time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["LearnedLimit", "forget_learned_limits", "learn_limit", "learned_limit"]


@dataclass(frozen=True)
class LearnedLimit:
    context_window: int | None = None
    #: The server's tokens per cl100k token (>= 1.0: we only ever learn to count higher).
    token_ratio: float | None = None


_lock = threading.Lock()
_learned: dict[tuple[str, str], LearnedLimit] = {}


def learned_limit(endpoint: str, deployment: str) -> LearnedLimit | None:
    return _learned.get((endpoint, deployment))


def learn_limit(
    endpoint: str,
    deployment: str,
    *,
    context_window: int | None = None,
    token_ratio: float | None = None,
) -> LearnedLimit:
    """Record what the server said; a later fact replaces an earlier one of the same kind."""
    with _lock:
        known = _learned.get((endpoint, deployment), LearnedLimit())
        limit = LearnedLimit(
            context_window if context_window is not None else known.context_window,
            max(token_ratio, 1.0) if token_ratio is not None else known.token_ratio,
        )
        _learned[(endpoint, deployment)] = limit
        return limit


def forget_learned_limits() -> None:
    """Tests, and a changed endpoint configuration."""
    with _lock:
        _learned.clear()
