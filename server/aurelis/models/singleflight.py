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

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.waiters: list[asyncio.Future[T]] = []


class SingleFlight(Generic[T]):
    """Coalesces concurrent calls that share a key (one event loop)."""

    def __init__(self) -> None:
        self._flights: dict[str, _Flight[T]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def do(self, key: str, call: Callable[[], Coroutine[Any, Any, T]]) -> tuple[T, bool]:
        """Run `call()` once per key at a time; returns (result, joined an existing call)."""
        flight = self._flights.get(key)
        joined = flight is not None
        if flight is None:
            flight = self._start(key, call)
        # Each caller waits on a future of its own: cancelling it leaves the call running.
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        flight.waiters.append(waiter)
        try:
            return await waiter, joined
        finally:
            if not waiter.done() or waiter.cancelled():
                flight.waiters.remove(waiter)
                if not flight.waiters and flight.task is not None and not flight.task.done():
                    # Everyone who wanted the answer is gone: stop the upstream call.
                    flight.task.cancel()
                    self._forget(key, flight)
            else:
                waiter.exception()  # retrieved, also when this caller was cancelled meanwhile

    def _start(self, key: str, call: Callable[[], Coroutine[Any, Any, T]]) -> _Flight[T]:
        flight: _Flight[T] = _Flight()
        self._flights[key] = flight
        flight.task = asyncio.get_running_loop().create_task(self._run(key, flight, call))
        return flight

    async def _run(
        self, key: str, flight: _Flight[T], call: Callable[[], Coroutine[Any, Any, T]]
    ) -> None:
        # The waiters are answered from inside the task (not from a done-callback), which
        # wakes them one event-loop turn sooner.
        try:
            result = await call()
        except BaseException as error:  # handed to every waiter, who raise it
            self._forget(key, flight)
            for waiter in flight.waiters:
                if not waiter.done():
                    waiter.set_exception(error)
            if not isinstance(error, (Exception, asyncio.CancelledError)):
                raise  # KeyboardInterrupt, SystemExit: the loop must see them
            return
        self._forget(key, flight)
        for waiter in flight.waiters:
            if not waiter.done():
                waiter.set_result(result)

    def _forget(self, key: str, flight: _Flight[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
