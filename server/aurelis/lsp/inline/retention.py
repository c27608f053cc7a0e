"""How much of an accepted suggestion is still in the document, from the text alone.

The server does not follow every edit back to the suggestion; it finds the place again
later. The text just before the insertion point marks its start (the occurrence nearest
the original offset) and the text just after it marks its end; what lies between is
compared with the accepted text, and the characters they share in order count as
retained. When the end cannot be found, a window of the suggestion's length (plus slack)
is compared instead, counting only runs of a few characters so that scattered letters of
the following code do not pass for kept text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

__all__ = ["Placement", "retained_characters", "CONTEXT_CHARS"]

#: Characters of context kept on each side of an insertion to find it again.
CONTEXT_CHARS = 64
_SEARCH = 8192
_SLACK = 32
_MIN_RUN = 4


@dataclass(frozen=True)
class Placement:
    """Where a suggestion was inserted: its offset and the text on either side then."""

    offset: int
    before: str
    after: str


def retained_characters(accepted: str, placement: Placement, current: str) -> int:
    """Characters of `accepted` still present where it was inserted in `current`."""
    if not accepted:
        return 0
    start = _start(placement, current)
    end = _end(placement, current, start, len(accepted))
    if end is not None:
        return _shared(accepted, current[start:end], min_run=1)
    window = current[start : start + len(accepted) + _SLACK]
    return _shared(accepted, window, min_run=min(_MIN_RUN, len(accepted)))


def _start(placement: Placement, current: str) -> int:
    """The insertion point in `current`: just after the nearest copy of the text before."""
    before = placement.before
    if not before:
        return 0
    low = max(0, placement.offset - len(before) - _SEARCH)
    high = min(len(current), placement.offset + _SEARCH)
    best: int | None = None
    found = current.find(before, low, high)
    while found != -1:
        end = found + len(before)
        if best is None or abs(end - placement.offset) < abs(best - placement.offset):
            best = end
        found = current.find(before, found + 1, high)
    return best if best is not None else min(placement.offset, len(current))


def _end(placement: Placement, current: str, start: int, length: int) -> int | None:
    after = placement.after
    if not after:
        return len(current)
    found = current.find(after, start, start + length * 4 + _SEARCH)
    return None if found == -1 else found


def _shared(accepted: str, region: str, *, min_run: int) -> int:
    matcher = difflib.SequenceMatcher(None, accepted, region, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks() if block.size >= min_run)
