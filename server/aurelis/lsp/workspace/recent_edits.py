"""Where the user was working lately: a ring of recently edited (and opened) places.

What the user just changed in another file is often what the next line needs (the new
function they are about to call, the field they just added), before any index has seen it.
llama.vim keeps such a ring of chunks for its prompts; Continue and Zed's Zeta send
recently edited ranges. Here an edit only records (document, line): one small list update
per keystroke. The chunk's text is cut from the open document when a prompt asks, so it
is always the current text, and a closed document's places are dropped with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lsprotocol import types

from aurelis.lsp.workspace.documents import DocumentSnapshot

__all__ = ["OPENED", "RecentChunk", "RecentEdits"]

#: Places kept (the oldest goes first).
_PLACES = 16
#: Lines of a chunk: half above the edited line, half below.
_CHUNK_LINES = 24
#: An edit this close to a kept place moves that place instead of adding one.
_SAME_PLACE_LINES = _CHUNK_LINES // 2


@dataclass(frozen=True)
class RecentChunk:
    """Lines [start, end) of an open document, as a prompt snippet (`path` is filled in
    by the caller, relative to the workspace folder)."""

    uri: str
    document_path: str
    path: str
    start: int
    end: int
    text: str
    source: str = "recent"  # or OPENED: a file's head, from opening it (nobody edited it)


#: The source of a chunk that is only the head of a file just opened.
OPENED = "opened"


@dataclass
class _Place:
    uri: str
    line: int
    opened: bool = False  # the head of a file opened, not a place edited


class RecentEdits:
    """The ring (see the module docstring). Used on the server's event loop only."""

    def __init__(self) -> None:
        self._places: list[_Place] = []  # newest first

    def edited(self, uri: str, line: int) -> None:
        """The user changed `uri` at `line`: that place becomes the newest."""
        for index, place in enumerate(self._places):
            if place.uri == uri and abs(place.line - line) <= _SAME_PLACE_LINES:
                del self._places[index]
                break
        self._places.insert(0, _Place(uri, max(line, 0)))
        del self._places[_PLACES:]

    def opened(self, uri: str) -> None:
        """The user opened `uri`: its head is worth showing, after anything edited."""
        if not any(place.uri == uri for place in self._places):
            self._places.append(_Place(uri, 0, opened=True))
            del self._places[_PLACES:]

    def forget(self, uri: str) -> None:
        self._places = [place for place in self._places if place.uri != uri]

    def chunks(
        self,
        open_document: Callable[[str], DocumentSnapshot | None],
        skip_uri: str,
        limit: int = 4,
    ) -> list[RecentChunk]:
        """Up to `limit` chunks, newest first, from documents other than `skip_uri` (the
        prompt holds that one already); none overlaps another."""
        found: list[RecentChunk] = []
        for place in self._places:
            if len(found) == limit:
                break
            if place.uri == skip_uri:
                continue
            document = open_document(place.uri)
            if document is None or document.path is None:
                continue
            chunk = _chunk(document, place.line, OPENED if place.opened else "recent")
            if chunk is not None and not any(_overlaps(chunk, kept) for kept in found):
                found.append(chunk)
        return found


def _chunk(document: DocumentSnapshot, line: int, source: str) -> RecentChunk | None:
    start = max(line - _CHUNK_LINES // 2, 0)
    first = document.offset(types.Position(line=start, character=0))
    # Past the last line, an offset is the document's end.
    last = document.offset(types.Position(line=start + _CHUNK_LINES, character=0))
    text = document.text[first:last]
    if not text.strip():
        return None
    assert document.path is not None
    end = start + text.count("\n") + (0 if text.endswith("\n") else 1)
    return RecentChunk(document.uri, document.path, document.path, start, end, text, source)


def _overlaps(one: RecentChunk, other: RecentChunk) -> bool:
    return one.uri == other.uri and one.start < other.end and other.start < one.end
