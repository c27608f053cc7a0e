"""What one process hands the others when it answered a request they were waiting for.

Complete answers only (as the cache stores them); the waiters get them as cache hits.
"""

from __future__ import annotations

from aurelis.models.outcome import Answer, Hit, Outcome
from aurelis.models.shared.cache import decode_entry, encode_entry

__all__ = ["handoff", "handed_over"]


def handoff(outcome: Outcome) -> bytes | None:
    """The bytes waiting processes get (None: nothing worth handing over)."""
    if isinstance(outcome, Answer) and outcome.cacheable:
        return encode_entry(outcome.entry())
    return None


def handed_over(blob: bytes) -> Outcome:
    """The outcome a waiter gets; ValueError when `blob` is not one of ours."""
    return Hit(decode_entry(blob))
