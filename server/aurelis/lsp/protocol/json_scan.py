"""Following a JSON object through its bytes without parsing it.

The wire needs two facts about a frame it cannot parse (too large to hold, cut short,
nested past the parser's limit): where the object ends, and its top-level `id` and
`method`, so a request can still be answered. `ObjectScanner` learns both in one pass over
chunks as they arrive, in constant memory: it tracks strings, escapes and nesting depth,
and keeps only short top-level tokens.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["ObjectScanner", "scan_fields"]

_STRUCTURAL = re.compile(rb'["{}\[\]:,]')
# The rest of a string up to its closing quote or a backslash that ends the data.
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
_WHITESPACE = b" \t\r\n"
_BACKSLASH, _QUOTE = ord("\\"), ord('"')
#: Longer top-level tokens are not ids or method names worth keeping.
_MAX_TOKEN = 512
_WANTED = frozenset({"id", "method"})


class ObjectScanner:
    """One JSON object, fed in pieces: `feed()` says where it closed, `fields` holds the
    top-level `id` and `method` it saw (their JSON values), `invalid` says the bytes do
    not start an object at all."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.invalid = False
        self.closed = False
        self._started = False
        self._depth = 0
        self._in_string = False
        self._escape_pending = False
        self._expect_key = True
        self._key: str | None = None
        self._token: bytearray | None = None

    def feed(self, data: bytes | bytearray, start: int = 0, end: int | None = None) -> int | None:
        """Scan `data[start:end]`; the offset just past the object's closing brace, if it
        closed in this piece."""
        end = len(data) if end is None else end
        position = start
        while position < end and not (self.closed or self.invalid):
            if self._in_string:
                position = self._string(data, position, end)
            elif not self._started:
                position = self._opening(data, position, end)
            else:
                position = self._structure(data, position, end)
                if self.closed:
                    return position
        return None

    # --- strings ---------------------------------------------------------------------------
    def _string(self, data: bytes | bytearray, position: int, end: int) -> int:
        if self._escape_pending:  # the byte after a backslash that ended the last piece
            self._keep(data, position, position + 1)
            self._escape_pending = False
            position += 1
            if position >= end:
                return position
        match = _STRING_BODY.match(data, position, end)
        stop = match.end() if match else position
        if stop < end and data[stop] == _BACKSLASH:  # escape split across pieces
            self._keep(data, position, stop + 1)
            self._escape_pending = True
            return stop + 1
        self._keep(data, position, stop)
        if stop >= end:
            return stop
        self._in_string = False
        self._string_done()
        return stop + 1

    def _string_done(self) -> None:
        if self._depth != 1 or self._token is None:
            return
        text = _decode(b'"' + bytes(self._token) + b'"')
        self._token = None
        if self._expect_key:
            self._key = text if isinstance(text, str) else None
        elif self._key in _WANTED:
            self.fields[self._key] = text

    # --- structure ---------------------------------------------------------------------------
    def _opening(self, data: bytes | bytearray, position: int, end: int) -> int:
        while position < end and data[position] in _WHITESPACE:
            position += 1
        if position < end:
            if data[position] != ord("{"):
                self.invalid = True
            else:
                self._started, self._depth, self._expect_key = True, 1, True
                position += 1
        return position

    def _structure(self, data: bytes | bytearray, position: int, end: int) -> int:
        """Scan outside strings up to the next string, the object's end or `end`."""
        while position < end:
            match = _STRUCTURAL.search(data, position, end)
            stop = match.start() if match else end
            if self._depth == 1 and not self._expect_key and self._token is not None:
                self._keep(data, position, stop)  # a scalar value of a top-level key
            if match is None:
                return end
            self._punctuation(data[stop])
            position = stop + 1
            if self._in_string or self.closed:
                return position
        return position

    def _punctuation(self, char: int) -> None:
        if char == _QUOTE:
            self._in_string = True
            self._token = bytearray() if self._depth == 1 else None
        elif char in b"{[":
            self._finish_scalar()
            self._depth += 1
        elif char in b"}]":
            self._finish_scalar()
            self._depth -= 1
            self.closed = self._depth == 0
        elif char == ord(":") and self._depth == 1:
            self._expect_key = False
            self._token = bytearray()
        elif char == ord(",") and self._depth == 1:
            self._finish_scalar()
            self._expect_key, self._key = True, None

    def _finish_scalar(self) -> None:
        if self._depth == 1 and not self._expect_key and self._token is not None:
            raw = bytes(self._token).strip()
            if raw and self._key in _WANTED:
                self.fields[self._key] = _decode(raw)
        if self._depth == 1:
            self._token = None

    def _keep(self, data: bytes | bytearray, start: int, stop: int) -> None:
        if self._token is None:
            return
        if len(self._token) + (stop - start) > _MAX_TOKEN:
            self._token = None  # too long to be an id or a method name
            return
        self._token += data[start:stop]


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def scan_fields(body: bytes | bytearray) -> dict[str, Any]:
    """The top-level `id` and `method` of a (possibly broken) JSON object."""
    scanner = ObjectScanner()
    scanner.feed(body)
    return scanner.fields
