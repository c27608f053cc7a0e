"""Open documents as immutable snapshots, and LSP positions as string offsets.

Positions from clients may point past the end of a line or of the document (stale cursors,
buggy plugins); every conversion clamps instead of failing, so a bad position costs an
empty or shortened result, never an exception. Every conversion goes through
`text_buffer.Lines` and `positions`, whether the text came from an open document or not,
so line ends and code units are counted one way.

A snapshot of an open document shares the document's line blocks (`text_buffer.Lines`):
taking one copies no text, its positions are converted on the lines they name, and the
whole text is joined once per document version (by the first snapshot of that version).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path

from aurelis.core.secrets import is_secret_file
from aurelis.lsp.workspace.document_store import BufferedTextDocument
from aurelis.lsp.workspace.positions import encoding_name
from aurelis.lsp.workspace.text_buffer import Lines

if TYPE_CHECKING:
    from pygls.workspace import Workspace

__all__ = [
    "DocumentSnapshot",
    "RecentDocuments",
    "is_at_version",
    "snapshot",
    "offset_at",
    "position_at",
]


@dataclass(frozen=True)
class DocumentSnapshot:
    """One version of an open document, as the server last received it."""

    uri: str
    path: str | None
    language_id: str
    version: int | None
    text: str
    #: "utf-16" (the LSP default), "utf-8" or "utf-32": the unit of Position.character.
    encoding: str = "utf-16"
    #: The same text as lines, when it came from an open document (fast positions).
    lines: Lines | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # `dataclasses.replace(snapshot, text=...)` keeps the old lines: they must go.
        if self.lines is not None and self.lines.text is not self.text:
            object.__setattr__(self, "lines", None)

    @cached_property
    def _line_view(self) -> Lines:
        # A snapshot built from text alone splits it once, on the first position asked.
        return self.lines if self.lines is not None else Lines.of(self.text)

    def offset(self, position: types.Position) -> int:
        """The string offset of `position`, clamped to its line and the document."""
        return self._line_view.offset(position.line, position.character, self.encoding)

    def position(self, offset: int) -> types.Position:
        """The LSP position of string offset `offset`, clamped to the document."""
        line, character = self._line_view.position(offset, self.encoding)
        return types.Position(line=line, character=character)

    @property
    def is_secret_file(self) -> bool:
        """Whether this is a file of secrets by nature (`.env`, keys): never read for a model."""
        return is_secret_file(self.path or self.uri)

    def range_offsets(self, rng: types.Range) -> tuple[int, int]:
        """(start, end) offsets of `rng`, clamped and ordered."""
        start, end = self.offset(rng.start), self.offset(rng.end)
        return (start, end) if start <= end else (end, start)


def snapshot(workspace: Workspace, uri: str) -> DocumentSnapshot | None:
    """The open document `uri`, or None when the client never opened it.

    pygls' own `get_text_document` would read an unopened file from disk, which could be
    outside the workspace; an editor action on a document the client did not open is a
    client bug, not a reason to touch the disk.
    """
    document = workspace.text_documents.get(unquote(uri))
    if document is None:
        return None
    lines = document.lines if isinstance(document, BufferedTextDocument) else None
    return DocumentSnapshot(
        uri=document.uri,
        path=to_fs_path(document.uri) if document.uri.startswith("file:") else None,
        language_id=document.language_id or "plaintext",
        version=document.version,
        text=lines.text if lines is not None else document.source,
        encoding=encoding_name(workspace.position_encoding),
        lines=lines,
    )


def is_at_version(workspace: Workspace, uri: str, version: int | None) -> bool:
    """Whether `uri` is open and still at `version`: a change made for that version fits."""
    document = workspace.text_documents.get(unquote(uri))
    return document is not None and document.version == version


def offset_at(text: str, position: types.Position, encoding: str = "utf-16") -> int:
    """The string offset of `position` in `text`, clamped to its line and the document."""
    return Lines.of(text).offset(position.line, position.character, encoding)


def position_at(text: str, offset: int, encoding: str = "utf-16") -> types.Position:
    """The LSP position of string offset `offset` in `text` (clamped to the document)."""
    line, character = Lines.of(text).position(offset, encoding)
    return types.Position(line=line, character=character)


class RecentDocuments:
    """Open documents ordered by last edit, most recent first (for project context)."""

    def __init__(self) -> None:
        self._touched: OrderedDict[str, float] = OrderedDict()

    def touch(self, uri: str) -> None:
        self._touched[uri] = time.monotonic()
        self._touched.move_to_end(uri, last=False)

    def forget(self, uri: str) -> None:
        self._touched.pop(uri, None)

    def ordered(self) -> list[str]:
        return list(self._touched)
