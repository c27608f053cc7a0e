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

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by `chunk`.

        The complete lines of a piece are decoded and split at once rather than line by
        line: a piece of a model's stream usually holds whole events, and per-line work in
        Python was most of the cost of reading one. Line breaks are ASCII, so a piece cut
        inside a UTF-8 character leaves that character in the pending bytes.
        """
        if self._saw_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]  # the LF of a CRLF split across two pieces
        self._saw_cr = False
        buffer = self._pending + chunk if self._pending else chunk
        end = max(buffer.rfind(b"\n"), buffer.rfind(b"\r"))
        if end < 0:
            self._pending = buffer
            return []
        self._pending = buffer[end + 1 :]
        complete = buffer[: end + 1]
        if b"\r" in complete:
            self._saw_cr = end == len(buffer) - 1 and buffer[end] == 0x0D
            complete = complete.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = complete.decode("utf-8", "replace").split("\n")
        lines.pop()  # the text after the last break, empty: that break ended a line
        events = []
        for line in lines:
            event = self._take_line(line)
            if event is not None:
                events.append(event)
        return events

    def _take_line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line[0] == ":":
            self.comments += 1
            return None
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
