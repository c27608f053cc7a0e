"""The LSP protocol with `$/cancelRequest` reaching executeCommand handlers.

pygls runs `workspace/executeCommand` through a built-in generator that starts the command
handler as a separate task; a `$/cancelRequest` for the request id answers the client but
leaves that task (and its model call) running. Command handlers register their task under
the request id here, and a cancel for that id cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from pygls.protocol import LanguageServerProtocol

__all__ = ["AurelisProtocol"]


class AurelisProtocol(LanguageServerProtocol):
    """LanguageServerProtocol whose cancel notifications also stop command tasks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._command_tasks: dict[Any, asyncio.Task[Any]] = {}

    @contextlib.contextmanager
    def cancellable_request(self) -> Iterator[None]:
        """Within this block, a `$/cancelRequest` for the current request cancels this task."""
        msg_id, task = self.msg_id, asyncio.current_task()
        if msg_id is None or task is None:
            yield
            return
        self._command_tasks[msg_id] = task
        try:
            yield
        finally:
            self._command_tasks.pop(msg_id, None)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        # Overrides pygls' private hook (pinned pygls>=2.1,<3); see the module docstring.
        task = self._command_tasks.pop(msg_id, None)
        super()._handle_cancel_notification(msg_id)
        if task is not None:
            task.cancel()
