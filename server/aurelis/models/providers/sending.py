"""Whether a call's request has gone out to its endpoint yet.

A rate-limit slot is spent when the server counts the request, and the server can count
only what reached it. A call cancelled (a superseded inline request) or failed before its
request went out (still connecting, waiting for the token-count route) spent nothing, so
the limiter gives its slot back (`models.ratelimit`, `models.shared.ratelimit`).

The slot opens a `SendWatch` around the call. A provider that can tell says so
(`expect_report`) and marks the moment its request starts going out (`request_sent`): for
aiohttp sessions `sent_trace()` does that when the request's headers are written, which
is after the connection is made and the last moment a cancel can still keep the request
from the server. A provider that says nothing is taken to have sent, whatever happened:
giving back a slot the server did count would let us exceed its limit.

The watch travels in a context variable: the provider runs in the task (or in tasks
started from it) that holds the slot, and providers need no parameter for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import SimpleNamespace

import aiohttp

__all__ = [
    "SendWatch",
    "expect_report",
    "not_the_call",
    "request_sent",
    "sent_trace",
    "unwatch",
    "watch",
]


class SendWatch:
    """What one call's provider reported about its request."""

    __slots__ = ("reporting", "sent")

    def __init__(self) -> None:
        self.reporting = False  # a provider that reports sending took the call
        self.sent = False

    @property
    def unsent(self) -> bool:
        """True only when the provider said it would report, and nothing went out."""
        return self.reporting and not self.sent


_current: ContextVar[SendWatch | None] = ContextVar("aurelis_send_watch", default=None)


def watch() -> tuple[SendWatch, Token[SendWatch | None]]:
    """Start watching the call about to run here; `unwatch(token)` when it is over."""
    current = SendWatch()
    return current, _current.set(current)


def unwatch(token: Token[SendWatch | None]) -> None:
    try:
        _current.reset(token)
    except ValueError:
        # A stream closed from another task than the one that opened it: that task's
        # context never held this watch, so there is nothing to undo there.
        pass


def expect_report() -> None:
    """The provider taking the call will call `request_sent` when its request goes out."""
    current = _current.get()
    if current is not None:
        current.reporting = True


def request_sent() -> None:
    """The call's request has started going out: its slot is spent."""
    current = _current.get()
    if current is not None:
        current.sent = True


@contextmanager
def not_the_call() -> Iterator[None]:
    """Requests sent inside are not the call's own (a token count before the chat)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


async def _on_headers_sent(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    request_sent()


def sent_trace() -> aiohttp.TraceConfig:
    """A trace for an aiohttp session: marks the request sent once its headers are out."""
    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(_on_headers_sent)
    return trace
