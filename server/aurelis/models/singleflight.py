"""Single-flight: identical concurrent requests make one upstream call; the rest await it.

The call runs in its own task, so a caller that gives up (cancelled completion) does not
cancel it for the others; only when every caller has left is the call cancelled too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class _Flight(Generic[T]):
    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Task[T]) -> None:
        self.task = task
        self.waiters = 0


class SingleFlight(Generic[T]):
    """Coalesces concurrent calls that share a key (one event loop)."""

    def __init__(self) -> None:
        self._flights: dict[str, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def do(self, key: str, call: Callable[[], Coroutine[Any, Any, T]]) -> tuple[T, bool]:
        """Run `call()` once per key at a time; returns (result, joined an existing call)."""
        flight = self._flights.get(key)
        joined = flight is not None and not flight.task.done()
        if flight is None or not joined:
            flight = self._start(key, call)
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task), joined
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                # Everyone who wanted the answer is gone: stop the upstream call.
                flight.task.cancel()
                self._forget(key, flight)

    def _start(self, key: str, call: Callable[[], Coroutine[Any, Any, T]]) -> _Flight[T]:
        flight: _Flight[T] = _Flight(asyncio.get_running_loop().create_task(call()))
        self._flights[key] = flight
        flight.task.add_done_callback(lambda task: self._finished(key, flight))
        return flight

    def _finished(self, key: str, flight: _Flight[T]) -> None:
        self._forget(key, flight)
        if not flight.task.cancelled():
            flight.task.exception()  # retrieved: the waiters re-raise it themselves

    def _forget(self, key: str, flight: _Flight[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
