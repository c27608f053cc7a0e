"""Open documents as immutable snapshots, and LSP positions as string offsets.

Positions from clients may point past the end of a line or of the document (stale cursors,
buggy plugins); every conversion here clamps instead of failing, so a bad position costs an
empty or shortened result, never an exception.

A snapshot of an open document shares the document's line blocks (`text_buffer.Lines`):
taking one copies no text, its positions are converted on the lines they name, and the
whole text is joined once per document version (by the first snapshot of that version).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

from lsprotocol import types
from pygls.uris import to_fs_path

from aurelis.lsp.workspace.document_store import BufferedTextDocument, encoding_name
from aurelis.lsp.workspace.text_buffer import Lines

if TYPE_CHECKING:
    from pygls.workspace import Workspace

__all__ = [
    "DocumentSnapshot",
    "RecentDocuments",
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

    def offset(self, position: types.Position) -> int:
        if self.lines is not None:
            return self.lines.offset(position.line, position.character, self.encoding)
        return offset_at(self.text, position, self.encoding)

    def position(self, offset: int) -> types.Position:
        if self.lines is not None:
            line, character = self.lines.position(offset, self.encoding)
            return types.Position(line=line, character=character)
        return position_at(self.text, offset, self.encoding)

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
    document = workspace.text_documents.get(_unquote(uri))
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


def _unquote(uri: str) -> str:
    return unquote(uri)


def _line_start(text: str, line: int) -> int | None:
    """Offset where `line` starts, or None when the document has fewer lines."""
    start = 0
    for _ in range(max(line, 0)):
        newline = text.find("\n", start)
        if newline == -1:
            return None
        start = newline + 1
    return start


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    if end == -1:
        end = len(text)
    if end > start and text[end - 1] == "\r":
        end -= 1
    return end


def offset_at(text: str, position: types.Position, encoding: str = "utf-16") -> int:
    """The string offset of `position`, clamped to its line; a line past the end → the end."""
    start = _line_start(text, position.line)
    if start is None:
        return len(text)
    end = _line_end(text, start)
    return start + _column_to_index(text[start:end], max(position.character, 0), encoding)


def _column_to_index(line: str, column: int, encoding: str) -> int:
    if line.isascii() or encoding == "utf-32":
        return min(column, len(line))
    units = 0
    for index, char in enumerate(line):
        if units >= column:
            return index
        units += _units(char, encoding)
    return len(line)


def _units(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8"))
    return 2 if ord(char) > 0xFFFF else 1


def position_at(text: str, offset: int, encoding: str = "utf-16") -> types.Position:
    """The LSP position of string offset `offset` (clamped to the document)."""
    offset = min(max(offset, 0), len(text))
    line = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    segment = text[line_start:offset]
    if segment.isascii() or encoding == "utf-32":
        character = len(segment)
    else:
        character = sum(_units(char, encoding) for char in segment)
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
