"""Running many requests: bounded concurrency, duplicates shared, order kept, progress told.

Generic over what one request is: the orchestrator passes its own `answer` coroutine and a
key that makes identical requests one job.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

__all__ = ["BatchProgress", "ProgressCallback", "run_batch"]

Q = TypeVar("Q")
A = TypeVar("A")
R = TypeVar("R")


@dataclass(frozen=True)
class BatchProgress(Generic[R]):
    """One finished item: `index` in the input, `done` of `total` finished so far."""

    index: int
    done: int
    total: int
    result: R | None
    error: BaseException | None

    @property
    def ok(self) -> bool:
        return self.error is None


ProgressCallback = Callable[[BatchProgress[Any]], Awaitable[None] | None]


async def run_batch(
    items: Sequence[Q],
    answer: Callable[[Q], Awaitable[A]],
    *,
    key: Callable[[Q], Hashable | None],
    concurrency: int,
    return_exceptions: bool,
    on_progress: ProgressCallback | None,
    finish: Callable[[A, Q], R],
) -> list[R | BaseException]:
    """Answer `items`; results keep the input order.

    Items with the same non-None key are answered once; `finish(answer, item)` turns the
    shared answer into each item's own result. With `return_exceptions` a failed item
    yields its exception in its place; otherwise the first failure is raised once the other
    jobs are cancelled.
    """
    groups: dict[Hashable, list[int]] = {}
    for index, item in enumerate(items):
        job_key = key(item)
        groups.setdefault(job_key if job_key is not None else ("#", index), []).append(index)
    jobs = list(groups.values())
    results: list[R | BaseException | None] = [None] * len(items)
    limit = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def run(indexes: list[int]) -> None:
        nonlocal done
        async with limit:
            try:
                result: A | BaseException = await answer(items[indexes[0]])
            except Exception as error:  # noqa: BLE001 - reported per item below
                result = error
        for index in indexes:
            own: R | BaseException = (
                result if isinstance(result, BaseException) else finish(result, items[index])
            )
            results[index] = own
            done += 1
            if on_progress is not None:
                await _notify(on_progress, index, done, len(items), own)
        if isinstance(result, BaseException) and not return_exceptions:
            raise result

    await _gather_or_cancel([asyncio.ensure_future(run(job)) for job in jobs])
    # Every slot is filled once all jobs have finished without raising.
    return cast("list[R | BaseException]", results)


async def _notify(
    callback: ProgressCallback, index: int, done: int, total: int, outcome: Any
) -> None:
    failed = isinstance(outcome, BaseException)
    progress = BatchProgress(
        index=index,
        done=done,
        total=total,
        result=None if failed else outcome,
        error=outcome if failed else None,
    )
    returned = callback(progress)
    if inspect.isawaitable(returned):
        await returned


async def _gather_or_cancel(tasks: list[asyncio.Future[None]]) -> None:
    """Wait for all; on the first failure cancel the rest, wait for them, then raise it."""
    try:
        pending: set[asyncio.Future[None]] = set(tasks)
        while pending:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in finished:
                error = task.exception()
                if error is not None:
                    raise error
    finally:
        leftovers = [task for task in tasks if not task.done()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # mark retrieved: only the first failure is raised
