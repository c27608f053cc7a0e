"""When the embedded model stops before it would: a request's time limit and line-end stops.

The language server bounds inline generations through the request's metadata:
`time_limit_ms` stops a generation once that much time has passed since the call began,
prompt evaluation included; `stop_at_line_end` stops it at the first line break,
`stop_after_line` at the first line break that follows some text. With `whole_lines` the
time limit never ends the first line (as llama.cpp's `t_max_predict_ms`, which counts only
after a newline): it is always finished, so a greedy answer's first line is the same on
every run, whatever the clock; a later line the limit falls in is dropped by the reader
(finish reason `time_limit_line`). Only a first line that runs on past `RUNAWAY_FACTOR`
times the limit is cut where it stands. The worker process
applies them token by token, so a stopped generation costs no further tokens. This module
imports nothing heavy: the worker loads it before llama.cpp.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["LINE_CUT", "GenerationLimits", "RUNAWAY_FACTOR"]

#: With `whole_lines`, a first line still unfinished at this many times the limit is cut.
RUNAWAY_FACTOR = 4.0
#: The time limit fell after the first line: the answer's last line may be unfinished.
LINE_CUT = "time_limit_line"


@dataclass(frozen=True)
class GenerationLimits:
    """When to stop generating before the model does (from the request's metadata)."""

    time_limit: float | None = None  # seconds from the start of the call
    stop_at_line_end: bool = False
    stop_after_line: bool = False
    whole_lines: bool = False  # the time limit never cuts the first line

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> GenerationLimits:
        metadata = metadata or {}
        limit = metadata.get("time_limit_ms")
        seconds = (
            float(limit) / 1000
            if isinstance(limit, int | float) and not isinstance(limit, bool) and limit > 0
            else None
        )
        return cls(
            seconds,
            bool(metadata.get("stop_at_line_end")),
            bool(metadata.get("stop_after_line")),
            bool(metadata.get("whole_lines")),
        )

    @classmethod
    def of(cls, call: Any) -> GenerationLimits:
        """The limits a `ProviderCall`'s request asks for."""
        return cls.from_metadata(call.request.metadata)

    @classmethod
    def from_wire(cls, fields: dict[str, Any]) -> GenerationLimits:
        limit = fields.get("time_limit")
        return cls(
            float(limit) if isinstance(limit, int | float) else None,
            bool(fields.get("stop_at_line_end")),
            bool(fields.get("stop_after_line")),
            bool(fields.get("whole_lines")),
        )

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    def check(self, written: str, piece: str, started: float) -> tuple[str, str | None]:
        """(the part of `piece` to keep, the finish reason if generation stops here);
        `written` is what the generation produced before `piece`."""
        if self.stop_at_line_end or self.stop_after_line:
            newline = _line_break(written, piece, after_text=self.stop_after_line)
            if newline >= 0:
                # Only that line is shown: whatever follows the break is wasted time.
                return piece[:newline], "line_end"
        if self.time_limit is None:
            return piece, None
        spent = time.monotonic() - started
        if spent < self.time_limit:
            return piece, None
        if not self.whole_lines or spent >= self.time_limit * RUNAWAY_FACTOR:
            return piece, "time_limit"
        if _line_break("", written, after_text=True) >= 0:
            return "", LINE_CUT  # the first line is whole: stop now
        newline = _line_break(written, piece, after_text=True)
        return (piece[:newline], "line_end") if newline >= 0 else (piece, None)


def _line_break(written: str, piece: str, *, after_text: bool) -> int:
    """Where in `piece` the first line break is (-1: none); `after_text`: the first one
    that ends a line with text in it, counting what was `written` before."""
    newline = piece.find("\n")
    if after_text:
        while newline >= 0 and not (written + piece[:newline]).strip():
            newline = piece.find("\n", newline + 1)
    return newline
