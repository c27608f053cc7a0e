"""Stopping work the user no longer wants, without leaving anything running.

Two kinds of stop exist besides `$/cancelRequest` (which cancels the handler's task and
is left to propagate as CancelledError): a newer inline request superseding an older one,
and the user pressing "cancel" on a progress notification. Both set an asyncio.Event;
`run_until` races the work against it and cancels the work when the event wins.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["Interrupted", "run_until", "wait_unless"]

T = TypeVar("T")


class Interrupted(Exception):
    """The work was stopped by its stop event (superseded, or cancelled from progress)."""


async def run_until(work: Awaitable[T], stop: asyncio.Event) -> T:
    """Await `work` unless `stop` is set first; then cancel the work and raise Interrupted.

    If the caller itself is cancelled, the work is cancelled too and CancelledError
    propagates: the model call never outlives the request that wanted it.
    """
    task = asyncio.ensure_future(work)
    if stop.is_set():
        _abandon(task)
        raise Interrupted
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            _abandon(task)
    if task.done() and not task.cancelled():
        return task.result()
    raise Interrupted


async def wait_unless(delay: float, stop: asyncio.Event) -> bool:
    """Sleep `delay` seconds; True if `stop` was set meanwhile (the sleep ends at once)."""
    if delay <= 0:
        return stop.is_set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
    return stop.is_set()


def _abandon(task: asyncio.Future[T]) -> None:
    """Cancel without waiting (the caller answers at once); its outcome is still consumed."""
    task.cancel()
    task.add_done_callback(_consume)


def _consume(task: asyncio.Future[T]) -> None:
    if not task.cancelled():
        task.exception()
