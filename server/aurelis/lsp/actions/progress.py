"""Work-done progress for long editor actions, cancellable from the client.

The server creates the token itself (`window/workDoneProgress/create`) when the client
supports it; without support the action simply runs without a progress report. When the
user cancels, `cancelled` is set and the action stops its model call.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

from lsprotocol import types
from pygls.capabilities import get_capability

from aurelis.lsp.errors import RequestCancelled
from aurelis.lsp.protocol.cancellation import Interrupted, run_until

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

__all__ = ["ActionProgress"]

logger = logging.getLogger("aurelis.lsp.actions.progress")
# A client that never answers the create request must not hold the action hostage.
_CREATE_TIMEOUT = 5.0

T = TypeVar("T")


class ActionProgress:
    """`async with ActionProgress(ls, "Refactoring") as progress:` … `progress.cancelled`."""

    def __init__(self, ls: LanguageServer, title: str) -> None:
        self._ls = ls
        self._title = title
        self._token: str | None = None
        self.cancelled = asyncio.Event()

    async def __aenter__(self) -> ActionProgress:
        capabilities = self._ls.client_capabilities
        if not get_capability(capabilities, "window.work_done_progress", False):
            return self
        token = f"aurelis-{uuid.uuid4().hex}"
        progress = self._ls.work_done_progress
        try:
            await asyncio.wait_for(progress.create_async(token), _CREATE_TIMEOUT)
        except Exception as error:  # noqa: BLE001 - progress is optional (timeouts too)
            logger.info("no progress for %s: %s", self._title, type(error).__name__)
            return self
        self._token = token
        future = progress.tokens.get(token)
        if future is not None:
            loop = asyncio.get_running_loop()
            future.add_done_callback(
                lambda done: (
                    loop.call_soon_threadsafe(self.cancelled.set) if done.cancelled() else None
                )
            )
        progress.begin(
            token, types.WorkDoneProgressBegin(title=f"Aurelis: {self._title}", cancellable=True)
        )
        return self

    async def run(self, work: Awaitable[T]) -> T:
        """Await `work`; the user cancelling this progress cancels it (RequestCancelled)."""
        try:
            return await run_until(work, self.cancelled)
        except Interrupted:
            raise RequestCancelled() from None

    def report(self, message: str) -> None:
        if self._token is not None:
            self._ls.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=message)
            )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is None:
            return
        if self.cancelled.is_set() or exc_type is asyncio.CancelledError:
            message = "cancelled"
        elif exc is not None:
            message = "failed"
        else:
            message = "done"
        self._ls.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))
        # pygls keeps every token forever; a server running all day should not.
        self._ls.work_done_progress.tokens.pop(self._token, None)
