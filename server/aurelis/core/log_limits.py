"""Log lines stay short and few, whatever a client sends.

Many log records quote what a client sent (a request id, a method name, a URI), so a
client can choose their size and their number: a 10,000-character id once went to the log
in full, and 2,000 cancels wrote 2,000 lines. This filter, installed after redaction on
every handler of ours, cuts each message to `MAX_MESSAGE_CHARS` and lets each message
template through at most `BURST` times per `WINDOW` seconds; the lines held back are
counted and reported once, when that template next gets through. Our own structured
events (`log.log_event`: one line per model request or inline completion, fields we chose)
are only cut short, never held back: they are the request log operators and benchmarks
read, and a client can make them only by making us do the work they record.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["BoundedFilter", "MAX_MESSAGE_CHARS", "BURST", "STRUCTURED_EVENT", "WINDOW"]

#: The LogRecord attribute that marks a structured event (set by `log.log_event`).
STRUCTURED_EVENT = "aurelis_structured_event"

MAX_MESSAGE_CHARS = 1000
BURST = 20
WINDOW = 10.0
#: Templates tracked at once; a flood of distinct templates is cut off rather than kept.
_MAX_TEMPLATES = 1024


class BoundedFilter(logging.Filter):
    """Truncates long messages and rate-limits repeats of one message template."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._lock = threading.Lock()
        # template -> (window start, lines let through in it, lines held back)
        self._seen: dict[tuple[str, str], tuple[float, int, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        structured = getattr(record, STRUCTURED_EVENT, False)
        held = 0 if structured else self._admit((record.name, str(record.msg)[:200]))
        if held is None:
            return False
        message = record.getMessage()
        if len(message) > MAX_MESSAGE_CHARS:
            cut = len(message) - MAX_MESSAGE_CHARS
            message = f"{message[:MAX_MESSAGE_CHARS]}… ({cut:,} more characters)"
        if held:
            message += f" ({held:,} similar lines held back in the last {WINDOW:g} s)"
        record.msg, record.args = message, None
        return True

    def _admit(self, template: tuple[str, str]) -> int | None:
        """None to drop the record; else how many like it were dropped before it."""
        now = self._clock()
        with self._lock:
            start, passed, held = self._seen.get(template, (now, 0, 0))
            if now - start >= WINDOW:
                start, passed = now, 0
            if passed >= BURST:
                self._seen[template] = (start, passed, held + 1)
                return None
            if template not in self._seen and len(self._seen) >= _MAX_TEMPLATES:
                self._seen.clear()
            self._seen[template] = (start, passed + 1, 0)
            return held
