"""pygls's workspace, with open documents kept as line buffers (see `text_buffer`).

pygls applies each incremental change by splitting, converting and re-joining the whole
document (`TextDocument._apply_incremental_change`); a `BufferedTextDocument` applies it to
the touched lines only. pygls creates its `Workspace` while handling `initialize`, before
any document can be opened; `adopt_buffered_workspace` swaps in one that creates buffered
documents, keeping the folders and position encoding pygls negotiated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace
from pygls.workspace.position_codec import PositionCodec

from aurelis.lsp.workspace.positions import encoding_name
from aurelis.lsp.workspace.text_buffer import Lines, TextBuffer

__all__ = [
    "BufferedTextDocument",
    "BufferedWorkspace",
    "adopt_buffered_workspace",
]

logger = logging.getLogger("aurelis.lsp.workspace.documents")


class BufferedTextDocument(TextDocument):
    """An open document whose text lives in a `TextBuffer`."""

    def __init__(
        self,
        uri: str,
        source: str,
        version: int | None,
        language_id: str | None,
        sync_kind: types.TextDocumentSyncKind,
        position_codec: PositionCodec,
    ) -> None:
        super().__init__(
            uri,
            source=None,
            version=version,
            language_id=language_id,
            sync_kind=sync_kind,
            position_codec=position_codec,
        )
        self._buffer = TextBuffer(source)
        self._encoding = encoding_name(position_codec.encoding)

    @property
    def buffer(self) -> TextBuffer:
        return self._buffer

    @property
    def source(self) -> str:
        return self._buffer.text

    @property
    def lines(self) -> Lines:
        return self._buffer.lines()

    def apply_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        """Apply one change: a range edit on the touched lines, or the full new text."""
        if self._is_sync_kind_none:
            return
        if isinstance(change, types.TextDocumentContentChangePartial):
            rng = change.range
            exact = self._buffer.replace(
                (rng.start.line, rng.start.character),
                (rng.end.line, rng.end.character),
                change.text,
                self._encoding,
            )
            if not exact:
                logger.warning(
                    "didChange for %s: range %d:%d-%d:%d lies outside the document; "
                    "applied at the nearest valid position",
                    self.uri,
                    rng.start.line,
                    rng.start.character,
                    rng.end.line,
                    rng.end.character,
                )
            return
        self._buffer.reset(change.text)


class BufferedWorkspace(Workspace):
    """A pygls Workspace whose open documents are `BufferedTextDocument`s."""

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        if source is None:  # pygls's on-disk stand-in for a document that is not open
            return super()._create_text_document(doc_uri, source, version, language_id)
        return BufferedTextDocument(
            doc_uri, source, version, language_id, self._sync_kind, self.position_codec
        )


def adopt_buffered_workspace(protocol: Any) -> None:
    """Replace pygls's fresh Workspace (no documents yet) with a `BufferedWorkspace`.

    Call from the `initialize` handler: pygls has just created the workspace from the
    client's parameters. pygls keeps it in `LanguageServerProtocol._workspace` (pinned
    pygls 2.x; checked by the end-to-end sync tests).
    """
    current: Workspace = protocol.workspace
    if isinstance(current, BufferedWorkspace):
        return
    folders: Sequence[types.WorkspaceFolder] = list(current.folders.values())
    protocol._workspace = BufferedWorkspace(
        current.root_uri,
        current._sync_kind,
        folders,
        current.position_encoding,
    )
