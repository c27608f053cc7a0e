"""The LSP wire: `Content-Length` framing that survives any byte stream.

pygls's reader trusts the header: a length of 10^12 allocates until the process dies, and
a bad length or stray bytes leave it reading the wrong place for ever. This parser:

- bounds a frame's body at `max_message_bytes` (default 64 MB, set by `--max-message-bytes`
  or `AURELIS_LSP_MAX_MESSAGE_BYTES`); a larger frame is skipped in constant memory and,
  when it is a request whose id shows, answered with an error;
- resynchronises on the next `Content-Length:` header after anything it cannot read
  (garbage, a bad or missing length, a header line without an end);
- notices a length longer than its message (the next header follows the object early) and
  a length shorter than it (the body does not parse; the rest is skipped up to the next
  header), and reports both frames so requests among them are answered.

Resynchronising is safe because a JSON text cannot contain a header line: outside strings
`Content-Length` is not JSON, and strings cannot hold a raw line break. The parser is
sans-IO (`feed` bytes, get events); `lsp.transport` runs it over stdio or TCP.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from aurelis.lsp.protocol.json_scan import ObjectScanner

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MAX_MESSAGE_BYTES_VARIABLE",
    "DroppedFrame",
    "Frame",
    "FrameParser",
    "Skipped",
    "max_message_bytes",
]

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_MESSAGE_BYTES_VARIABLE = "AURELIS_LSP_MAX_MESSAGE_BYTES"
#: No real header line is longer; a longer one is garbage.
MAX_HEADER_LINE = 1024
_HEADER = re.compile(rb"([A-Za-z0-9-]+)[ \t]*:[ \t]*(.*?)[ \t]*")
_MARKER = re.compile(rb"content-length[ \t]*:", re.IGNORECASE)
# A whole length header line. JSON cannot contain one anywhere: outside strings it is not
# JSON, and inside them the raw line break is not allowed. So wherever it shows, a new
# frame starts there, whatever the previous frame's length said.
_HEADER_LINE = re.compile(rb"content-length[ \t]*:[ \t]*[0-9]{1,18}[ \t]*\r?\n", re.IGNORECASE)
_HEADER_LINE_MAX = 64
# What a header line looks like cut anywhere after its first byte.
_HEADER_START = re.compile(
    rb"c(?:o(?:n(?:t(?:e(?:n(?:t(?:-(?:l(?:e(?:n(?:g(?:t(?:h(?:[ \t]*:[ \t]*[0-9]*[ \t]*\r?)?"
    rb")?)?)?)?)?)?)?)?)?)?)?)?)?"
)
_MARKER_BYTES = b"Content-Length:"
_LENGTH_DIGITS = 18  # 10^18 bytes: anything longer is not a length


@dataclass(frozen=True)
class Frame:
    """A body within the size limit; `problem` says how its framing was wrong, if it was."""

    body: bytes
    problem: str | None = None


@dataclass(frozen=True)
class DroppedFrame:
    """A frame that was skipped unread (too large, or a bad length header); `fields` holds
    its top-level `id` and `method` when they could be seen."""

    reason: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    """Bytes that were not part of any frame."""

    count: int
    reason: str


Event = Frame | DroppedFrame | Skipped


def max_message_bytes(flag: int | None = None) -> int:
    """The frame size limit: the flag, else the environment variable, else 64 MB."""
    if flag is not None:
        return _positive(flag, "--max-message-bytes")
    text = os.environ.get(MAX_MESSAGE_BYTES_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_MESSAGE_BYTES
    if not text.isdigit() or len(text) > _LENGTH_DIGITS:
        raise ValueError(f"{MAX_MESSAGE_BYTES_VARIABLE} must be a number of bytes, got {text!r}")
    return _positive(int(text), MAX_MESSAGE_BYTES_VARIABLE)


def _positive(value: int, name: str) -> int:
    if value < 1024:
        raise ValueError(f"{name} must be at least 1024 bytes, got {value}")
    return value


class _Skipping:
    """A frame being read past: `remaining` bytes at most (None: until the object ends)."""

    def __init__(self, remaining: int | None, reason: str) -> None:
        self.remaining = remaining
        self.reason = reason
        self.scanner = ObjectScanner()
        self.fed = 0  # buffered bytes the scanner has seen


class FrameParser:
    """Turns a byte stream into frames; `feed()` returns what the new bytes completed."""

    def __init__(self, max_body: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.max_body = max_body
        self._buffer = bytearray()
        self._length: int | None = None
        self._header_problem: str | None = None
        self._body_length: int | None = None  # set while reading a body
        self._searched = 0  # body bytes already searched for a header
        self._skipping: _Skipping | None = None

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (bounded by the limit)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        progressed = True
        while progressed and self._buffer:
            if self._skipping is not None:
                progressed = self._skip(events)
            elif self._body_length is not None:
                progressed = self._body(events)
            else:
                progressed = self._header_line(events)
        return events

    # --- headers ---------------------------------------------------------------------------
    def _header_line(self, events: list[Event]) -> bool:
        newline = self._buffer.find(b"\n", 0, MAX_HEADER_LINE + 1)
        if newline < 0:
            if len(self._buffer) <= MAX_HEADER_LINE:
                return False  # wait for the rest of the line
            self._drop_garbage(len(self._buffer), "a header line without an end", events)
            return True
        line = bytes(self._buffer[:newline]).rstrip(b"\r")
        del self._buffer[: newline + 1]
        if not line.strip():
            self._end_of_headers(events)
            return True
        match = _HEADER.fullmatch(line)
        if match is None or (
            match.group(1).lower() != b"content-length" and _MARKER.search(line, 1)
        ):
            self._garbage_line(line, events)
        elif match.group(1).lower() == b"content-length":
            self._content_length(match.group(2))
        return True

    def _content_length(self, value: bytes) -> None:
        if value.isdigit() and len(value) <= _LENGTH_DIGITS:
            self._length, self._header_problem = int(value), None
        else:
            shown = value[:40].decode("ascii", "replace")
            self._length, self._header_problem = None, f"invalid Content-Length {shown!r}"

    def _end_of_headers(self, events: list[Event]) -> None:
        length, problem = self._length, self._header_problem
        self._length = self._header_problem = None
        if length is not None and length > self.max_body:
            reason = f"the message is {length} bytes; the limit is {self.max_body} bytes"
            self._skipping = _Skipping(length, reason)
        elif length is not None and length > 0:
            self._start_body(length)
        elif problem is not None:
            # The body may still be a readable object: skip it as one, to answer it.
            self._skipping = _Skipping(None, problem)
        elif length == 0:
            events.append(Skipped(0, "an empty message"))
        # A blank line with no headers before it is noise between frames.

    def _garbage_line(self, line: bytes, events: list[Event]) -> None:
        # A frame's header may follow garbage on the same line (a short length's leftovers).
        self._length = self._header_problem = None
        found = _MARKER.search(line, 1)
        if found is None:
            events.append(Skipped(len(line) + 1, "bytes outside any frame"))
            return
        events.append(Skipped(found.start(), "bytes outside any frame"))
        self._buffer[:0] = line[found.start() :] + b"\r\n"

    def _drop_garbage(self, limit: int, reason: str, events: list[Event]) -> None:
        """Drop up to `limit` bytes, stopping at a header if one starts in them."""
        self._length = self._header_problem = None
        found = _MARKER.search(self._buffer, 1, limit)
        if found is not None:
            cut = found.start()
        else:  # keep a tail that may be the start of a header cut by the read
            cut = max(0, limit - len(_MARKER_BYTES))
        if cut:
            del self._buffer[:cut]
            events.append(Skipped(cut, reason))

    # --- bodies ----------------------------------------------------------------------------
    def _start_body(self, length: int) -> None:
        self._body_length = length
        self._searched = 0

    def _body(self, events: list[Event]) -> bool:
        assert self._body_length is not None
        length = self._body_length
        early = self._early_end(length)
        if early is not None:
            problem = f"the Content-Length header says {length} bytes; the message is {early}"
            self._emit_body(early, problem, events)
            return True
        if len(self._buffer) < length or self._header_may_follow(length):
            return False
        self._emit_body(length, None, events)
        return True

    def _early_end(self, length: int) -> int | None:
        """Where the frame really ends, when a header line starts before its declared end:
        the end of its object if that closed first, else the header itself."""
        start = max(0, self._searched - _HEADER_LINE_MAX)
        self._searched = min(len(self._buffer), length + _HEADER_LINE_MAX)
        header = _HEADER_LINE.search(self._buffer, start, self._searched)
        if header is None or header.start() >= length:
            return None
        scanner = ObjectScanner()
        object_end = scanner.feed(self._buffer, 0, header.start())
        return object_end if object_end is not None else header.start()

    def _header_may_follow(self, length: int) -> bool:
        """A body that does not end its object may hold the start of the next frame's
        header (a short message); wait until that header would be complete."""
        if len(self._buffer) >= length + _HEADER_LINE_MAX:
            return False
        last = length - 1
        while last > 0 and self._buffer[last] in b" \t\r\n":
            last -= 1
        if self._buffer[last] == ord("}"):
            return False  # the usual case: the body ends its object
        tail = bytes(self._buffer[max(0, length - _HEADER_LINE_MAX) : length]).lower()
        return any(_HEADER_START.fullmatch(tail, index) for index in range(len(tail)))

    def _emit_body(self, size: int, problem: str | None, events: list[Event]) -> None:
        events.append(Frame(bytes(self._buffer[:size]), problem))
        del self._buffer[:size]
        self._body_length = None

    # --- frames read past --------------------------------------------------------------------
    def _skip(self, events: list[Event]) -> bool:
        skipping = self._skipping
        assert skipping is not None
        available = len(self._buffer)
        if skipping.remaining is not None:
            available = min(available, skipping.remaining)
        # A header line ends the frame, whatever its length said.
        header = _HEADER_LINE.search(self._buffer, 0, available)
        limit = available if header is None else header.start()
        closed = skipping.scanner.feed(self._buffer, skipping.fed, limit)
        skipping.fed = max(skipping.fed, limit)
        if skipping.scanner.invalid:
            # Not an object: read past it as garbage, up to the next header.
            self._skipping = None
            events.append(DroppedFrame(skipping.reason))
            if skipping.remaining is not None:
                self._drop_garbage(available, skipping.reason, events)
            return True
        if closed is not None or header is not None or skipping.remaining == available:
            self._skipping = None
            del self._buffer[: limit if closed is None else closed]
            events.append(DroppedFrame(skipping.reason, dict(skipping.scanner.fields)))
            return True
        # Drop what was scanned, but keep a tail that may be the start of a header line.
        drop = max(0, skipping.fed - _HEADER_LINE_MAX)
        del self._buffer[:drop]
        skipping.fed -= drop
        if skipping.remaining is not None:
            skipping.remaining -= drop
        return False
