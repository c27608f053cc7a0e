"""Editor events → index updates: a save at once, typing once the user pauses, files the
client's watcher reports in the background.

Only files inside a workspace root reach the index (`WorkspaceIndexes.index_for`), and
only `file:` URIs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from lsprotocol import types
from pygls.uris import to_fs_path

from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.indexes import WorkspaceIndexes

__all__ = ["EDIT_PAUSE_SECONDS", "IndexUpdates"]

#: Typing pause after which an open buffer's text is indexed.
EDIT_PAUSE_SECONDS = 1.5


class IndexUpdates:
    """Feeds the server's document events to its indexes."""

    def __init__(
        self,
        indexes: Callable[[], WorkspaceIndexes],
        snapshot: Callable[[str], DocumentSnapshot | None],
    ) -> None:
        self._indexes = indexes
        self._snapshot = snapshot
        self._pending: dict[str, asyncio.TimerHandle] = {}

    def saved(self, uri: str) -> None:
        self._cancel(uri)
        document = self._snapshot(uri)
        if document is not None and document.path is not None:
            self._indexes().saved(document.path, document.text)

    def edited(self, uri: str) -> None:
        self._cancel(uri)
        loop = asyncio.get_running_loop()
        self._pending[uri] = loop.call_later(EDIT_PAUSE_SECONDS, self._index_buffer, uri)

    def opened(self, uri: str) -> None:
        """With only open files indexed, an opened document joins the index (at once: the
        next request may be about it)."""
        if self._indexes().settings.open_files_only:
            self.saved(uri)

    def closed(self, uri: str) -> None:
        self._cancel(uri)
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if path:
            self._indexes().closed(path)

    def disk_changed(self, changes: Sequence[types.FileEvent]) -> None:
        indexes = self._indexes()
        for change in changes:
            path = to_fs_path(change.uri) if change.uri.startswith("file:") else None
            if path:
                indexes.disk_changed(path)

    def _index_buffer(self, uri: str) -> None:
        self._pending.pop(uri, None)
        document = self._snapshot(uri)
        if document is not None and document.path is not None:
            self._indexes().edited(document.path, document.text)

    def _cancel(self, uri: str) -> None:
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
