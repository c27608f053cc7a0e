"""Speculative inline completion: the suggestion for after the shown one is accepted.

Accepting a suggestion moves the cursor to its end, and the editor asks again at once. If
the model is asked only then, the user waits a whole model call for the next ghost text.
So once a suggestion is shown, the completion for "document with the suggestion accepted"
is computed in the background and put in the inline cache; accepting is then answered
from the cache (llama.vim does the same).

A speculation that found nothing to suggest is remembered too: the request it was made
for is then answered "nothing" at once instead of asking the model the same question
again. At most one speculation runs per document. Any request for another position of that
document cancels it (the user did not accept; on the local model it would hold the CPU
the new request needs); a request for exactly the speculated position waits for it
instead of asking the model a second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aurelis.models.types import ModelRequest

__all__ = ["Speculations", "has_spare_slot"]

#: Requests left in a model's rate-limit window that speculation never uses.
_SPARE_SLOTS = 1


@dataclass(frozen=True)
class _Target:
    """The position a speculation is for: the document's text around the cursor."""

    prefix_length: int
    prefix_hash: int
    suffix_hash: int

    @classmethod
    def of(cls, prefix: str, suffix: str) -> _Target:
        return cls(len(prefix), hash(prefix), hash(suffix))


class Speculations:
    """The running speculation of each document."""

    def __init__(self) -> None:
        self._running: dict[str, tuple[_Target, asyncio.Task[None]]] = {}
        self._empty: dict[str, _Target] = {}

    def start(
        self, uri: str, prefix: str, suffix: str, work: Callable[[], Awaitable[bool]]
    ) -> None:
        """Run `work` in the background: it fills the cache for prefix/suffix and returns
        whether it found a suggestion at all."""
        self.cancel(uri)
        self._empty.pop(uri, None)
        target = _Target.of(prefix, suffix)

        async def run() -> None:
            if not await work():
                self._empty[uri] = target

        task = asyncio.ensure_future(run())
        self._running[uri] = (target, task)
        task.add_done_callback(lambda done: self._finished(uri, done))

    def pending_for(self, uri: str, prefix: str, suffix: str) -> asyncio.Task[None] | None:
        """The running speculation for exactly this position, if any."""
        running = self._running.get(uri)
        if running is None or running[1].done():
            return None
        target, task = running
        if target.prefix_length != len(prefix) or target != _Target.of(prefix, suffix):
            return None
        return task

    def found_nothing(self, uri: str, prefix: str, suffix: str) -> bool:
        """Whether the last speculation of `uri` was for this position and found nothing."""
        empty = self._empty.get(uri)
        return empty is not None and empty == _Target.of(prefix, suffix)

    def forget(self, uri: str) -> None:
        self.cancel(uri)
        self._empty.pop(uri, None)

    def cancel(self, uri: str) -> None:
        running = self._running.pop(uri, None)
        if running is not None:
            running[1].cancel()

    async def stop_running(self, within: float) -> bool:
        """Stop every running speculation and wait (at most `within` seconds) until they
        have: the user asked for something else, and a guess still winding down holds the
        model's slot (the local model stops at its next token) the request needs. Whether any
        was running."""
        tasks = [task for _, task in self._running.values()]
        for uri in list(self._running):
            self.cancel(uri)
        if tasks:
            await asyncio.wait(tasks, timeout=within)
        return bool(tasks)

    def _finished(self, uri: str, task: asyncio.Task[None]) -> None:
        running = self._running.get(uri)
        if running is not None and running[1] is task:
            del self._running[uri]
        if not task.cancelled():
            task.exception()  # retrieved: a failed guess is not worth a warning


def has_spare_slot(request: ModelRequest) -> bool:
    """Whether a speculative call to `request`'s model leaves a rate-limit slot free for an
    interactive one (never waits: a guess that has to queue is not worth making)."""
    from aurelis.lsp.live_config import get_config, orchestrator, primary_model

    limiter = orchestrator().limiters.get(primary_model(request), get_config())
    if limiter.wait_time() > 0:
        return False
    remaining = limiter.remaining()
    return remaining is None or remaining >= _SPARE_SLOTS + 1
