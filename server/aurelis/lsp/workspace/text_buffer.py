"""An open document's text as blocks of lines, so an edit costs what it touches.

pygls keeps a document as one string and re-splits, re-measures and re-joins all of it on
every incremental change: 200 keystrokes in a 200,000-line file took seconds. Here the
lines live in blocks of a few hundred; an edit finds its lines by walking the block sizes,
converts LSP columns (UTF-16 code units by default) on the touched lines only, and replaces
one or a few blocks. Blocks are never changed in place, so a `Lines` view handed out
earlier stays exactly as it was: a snapshot costs a tuple of block references, and the
whole text is joined only when a reader asks for it (once per version).

Lines end and columns count as `positions` decides (the one converter of the server). The
last line has no terminator and may be empty: "a\\n" is two lines, "a" and "".

Positions past the end clamp, as the LSP says for columns (past the line's end → its end)
and as editors do for lines (past the last line → the end of the document); a column in
the middle of a surrogate pair counts as after that character.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from itertools import chain
from typing import overload

from aurelis.lsp.workspace.positions import (
    column_to_index,
    index_to_column,
    line_content,
    split_lines,
)

__all__ = ["Lines", "TextBuffer"]

#: Lines per block: an edit copies about this many references; finding a line walks
#: (lines / BLOCK_LINES) block sizes.
BLOCK_LINES = 512


class Lines(Sequence[str]):
    """An immutable view of a document's lines (each with its terminator)."""

    def __init__(self, blocks: Sequence[list[str]], sizes: Sequence[int], chars: Sequence[int]):
        # The blocks are shared with the buffer, which never mutates a block it handed out.
        self._blocks = tuple(blocks)
        self._sizes = tuple(sizes)
        self._chars = tuple(chars)
        self._count = sum(self._sizes)

    @classmethod
    def of(cls, text: str) -> Lines:
        return TextBuffer(text).lines()

    @cached_property
    def text(self) -> str:
        """The whole document (joined on first use, then kept)."""
        return "".join(chain.from_iterable(self._blocks))

    @property
    def length(self) -> int:
        """Characters in the document (without joining it)."""
        return sum(self._chars)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return list(self)[index]  # whole-document work: only pygls's own helpers slice
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("line number out of range")
        block, inner = self._locate(index)
        return self._blocks[block][inner]

    def __iter__(self) -> Iterator[str]:
        return chain.from_iterable(self._blocks)

    def _locate(self, line: int) -> tuple[int, int]:
        """(block, index in block) of an existing line."""
        for block, size in enumerate(self._sizes):
            if line < size:
                return block, line
            line -= size
        raise IndexError("line number out of range")

    def clamp(self, line: int, column: int, encoding: str) -> tuple[int, int]:
        """(line, string index in the line) of an LSP position, clamped to the document."""
        if line >= self._count:
            last = self._count - 1
            return last, len(line_content(self[last]))
        line = max(line, 0)
        return line, column_to_index(line_content(self[line]), column, encoding)

    def holds(self, line: int, column: int, encoding: str) -> bool:
        """Whether an LSP position lies in the document (no clamping needed)."""
        if not 0 <= line < self._count or column < 0:
            return False
        content = line_content(self[line])
        return column <= index_to_column(content, len(content), encoding)

    def line_start(self, line: int) -> int:
        """The string offset where `line` starts (the document's end past the last line)."""
        if line >= self._count:
            return self.length
        offset = 0
        for block, size in enumerate(self._sizes):
            if line < size:
                return offset + sum(map(len, self._blocks[block][:line]))
            offset += self._chars[block]
            line -= size
        return offset

    def offset(self, line: int, column: int, encoding: str = "utf-16") -> int:
        """The string offset of an LSP position, clamped to its line and the document."""
        if line >= self._count:
            return self.length
        line, index = self.clamp(line, column, encoding)
        return self.line_start(line) + index

    def position(self, offset: int, encoding: str = "utf-16") -> tuple[int, int]:
        """(line, column in `encoding` units) of a string offset, clamped to the document."""
        offset = max(offset, 0)
        first_line = 0
        for block, chars in enumerate(self._chars):
            if offset < chars:
                return self._position_in(block, first_line, offset, encoding)
            offset -= chars
            first_line += self._sizes[block]
        last = self._count - 1
        content = line_content(self[last])
        return last, index_to_column(content, len(content), encoding)

    def _position_in(
        self, block: int, first_line: int, offset: int, encoding: str
    ) -> tuple[int, int]:
        for number, line in enumerate(self._blocks[block]):
            if offset < len(line):
                content = line_content(line)
                # An offset inside a terminator is the end of that line's content.
                return first_line + number, index_to_column(content, offset, encoding)
            offset -= len(line)
        raise AssertionError("offset outside its block")  # chars[block] covers it


class TextBuffer:
    """A document's text, changed in place by LSP edits (see the module docstring)."""

    def __init__(self, text: str = "") -> None:
        self._blocks: list[list[str]] = []
        self._sizes: list[int] = []
        self._chars: list[int] = []
        self._view: Lines | None = None
        self.reset(text)

    def reset(self, text: str) -> None:
        """Replace the whole text (a full-document change)."""
        lines = split_lines(text)
        self._blocks = [lines[i : i + BLOCK_LINES] for i in range(0, len(lines), BLOCK_LINES)]
        self._sizes = [len(block) for block in self._blocks]
        self._chars = [sum(map(len, block)) for block in self._blocks]
        self._view = None

    def lines(self) -> Lines:
        """An immutable view of the current text (the same one until the next edit)."""
        if self._view is None:
            self._view = Lines(self._blocks, self._sizes, self._chars)
        return self._view

    @property
    def text(self) -> str:
        return self.lines().text

    def replace(
        self, start: tuple[int, int], end: tuple[int, int], text: str, encoding: str = "utf-16"
    ) -> bool:
        """Replace the range from `start` to `end` ((line, column) in `encoding` units).

        Returns False when a position had to be clamped (it pointed past its line or the
        document): the edit is still applied at the clamped place, so no text is lost.
        """
        view = self.lines()
        exact = view.holds(*start, encoding) and view.holds(*end, encoding)
        first, first_index = view.clamp(*start, encoding)
        last, last_index = view.clamp(*end, encoding)
        if (last, last_index) < (first, first_index):
            first, first_index, last, last_index = last, last_index, first, first_index
        segment = view[first][:first_index] + text + view[last][last_index:]
        if first > 0 and segment.startswith("\n") and _ends_with_lone_cr(view[first - 1]):
            first -= 1  # "\r" + "\n" now make one terminator: split them together
            segment = view[first] + segment
        replacement = split_lines(segment)
        if last < len(view) - 1:
            replacement.pop()  # the segment ends with a terminator: its "" is the next line
        self._splice(first, last, replacement)
        return exact

    def _splice(self, first: int, last: int, replacement: list[str]) -> None:
        """Put `replacement` where lines `first`..`last` are."""
        view = self.lines()
        first_block, first_inner = view._locate(first)
        last_block, last_inner = view._locate(last)
        merged = (
            self._blocks[first_block][:first_inner]
            + replacement
            + self._blocks[last_block][last_inner + 1 :]
        )
        # Small blocks join the next one, so deletions cannot leave thousands of tiny ones.
        if len(merged) < BLOCK_LINES // 4 and last_block + 1 < len(self._blocks):
            last_block += 1
            merged += self._blocks[last_block]
        blocks = [merged[i : i + BLOCK_LINES] for i in range(0, len(merged), BLOCK_LINES)]
        self._blocks[first_block : last_block + 1] = blocks
        self._sizes[first_block : last_block + 1] = [len(block) for block in blocks]
        self._chars[first_block : last_block + 1] = [sum(map(len, block)) for block in blocks]
        self._view = None


def _ends_with_lone_cr(line: str) -> bool:
    return line.endswith("\r")
