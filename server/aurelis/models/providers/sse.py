"""Server-sent events, decoded the way the format says (WHATWG HTML, "server-sent events").

A stream is lines ended by CRLF, LF or CR. A line starting with ":" is a comment — servers
send them as keep-alives (`: ping - <time>` from sse-starlette, used by llama-cpp-python's
server; vLLM and LiteLLM do the same) — and is skipped. `field: value` lines fill in the
event (one space after the colon is dropped); `data` lines are joined with "\n"; unknown
fields are ignored; a blank line ends the event. An event without data is not dispatched.

azure-ai-inference's own stream parser rejects comments and unknown fields ("SSE event not
supported"), which is why remote streams are read with this decoder instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["ServerSentEvent", "SseDecoder"]


@dataclass(frozen=True)
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SseDecoder:
    """Turns bytes, fed in pieces of any size, into events; counts the comments it skipped."""

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._saw_cr = False
        #: Comment lines skipped so far (keep-alives).
        self.comments = 0

    def feed(self, chunk: bytes) -> Iterator[ServerSentEvent]:
        """The events completed by `chunk`."""
        for line in self._lines(chunk):
            event = self._take_line(line)
            if event is not None:
                yield event

    def _lines(self, chunk: bytes) -> Iterator[bytes]:
        if self._saw_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across two pieces
        self._saw_cr = False
        buffer = self._pending + chunk
        start = 0
        length = len(buffer)
        while True:
            end = _next_break(buffer, start)
            if end < 0:
                break
            yield buffer[start:end]
            if buffer[end] == 0x0D:  # CR
                if end + 1 < length and buffer[end + 1] == 0x0A:
                    end += 1
                elif end + 1 == length:
                    self._saw_cr = True
            start = end + 1
        self._pending = buffer[start:]

    def _take_line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        if raw.startswith(b":"):
            self.comments += 1
            return None
        line = raw.decode("utf-8", "replace")
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        # "retry" and unknown fields change nothing we use.
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return ServerSentEvent("\n".join(data), event or "message", self._id)


def _next_break(buffer: bytes, start: int) -> int:
    """Index of the next CR or LF at or after `start`; -1 if none."""
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start)
    if lf < 0:
        return cr
    if cr < 0:
        return lf
    return min(lf, cr)
