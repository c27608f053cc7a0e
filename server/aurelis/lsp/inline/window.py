"""The slice of a buffer an inline completion sends: bounded by lines and tokens, with a
start that stays put while the user types.

llama.cpp (and llama-cpp-python's `Llama.generate`) keep the key/value cache of the last
prompt and re-use its longest common token prefix; only the tokens after it are evaluated
again. Cut at "the last N lines before the cursor", the window's first line moves with
every new line typed, the prompt shares no prefix with the previous one, and the whole
window is evaluated again: seconds on two CPU cores. So the start is aligned down to a
multiple of `align_lines`: it stays the same for `align_lines` lines of typing, and the
previous prompt is a prefix of the next one up to the cursor's line.

The token cap drops whole aligned chunks from the front (counted chunk by chunk, so the
chunks before the cursor's are counted once and remembered), which keeps the start stable
too: only the chunk being typed in changes its count.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["TextWindow", "WindowLimits", "ChunkCounter", "window_around"]

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class WindowLimits:
    """How much text around the cursor a prompt may carry."""

    prefix_lines: int
    suffix_lines: int
    prefix_tokens: int
    suffix_tokens: int
    #: The prefix starts on a line number that is a multiple of this (1: no alignment).
    align_lines: int = 16


@dataclass(frozen=True)
class TextWindow:
    """The text before and after the cursor that goes into the prompt."""

    prefix: str
    suffix: str
    #: Line number (0-based) of the prefix's first line: stable while typing on.
    start_line: int


class ChunkCounter:
    """Token counts of text chunks, remembered (the same chunks come back on every key)."""

    def __init__(self, count: TokenCounter, max_entries: int = 512) -> None:
        self._count = count
        self._known: OrderedDict[str, int] = OrderedDict()
        self._max_entries = max_entries

    def __call__(self, chunk: str) -> int:
        known = self._known.get(chunk)
        if known is not None:
            self._known.move_to_end(chunk)
            return known
        counted = self._count(chunk)
        self._known[chunk] = counted
        if len(self._known) > self._max_entries:
            self._known.popitem(last=False)
        return counted


def window_around(text: str, offset: int, limits: WindowLimits, count: TokenCounter) -> TextWindow:
    """The prefix/suffix window of `text` around `offset` within `limits`."""
    cursor_line = text.count("\n", 0, offset)
    align = max(1, limits.align_lines)
    first = max(0, cursor_line - max(0, limits.prefix_lines))
    first -= first % align
    chunks = _chunks_before(text, offset, cursor_line, first, align)
    start_line = _fit_chunks(chunks, limits.prefix_tokens, count)
    prefix = "".join(chunk for line, chunk in chunks if line >= start_line)
    suffix = _suffix_lines(
        text, offset, cursor_line, limits.suffix_lines, limits.suffix_tokens, count
    )
    return TextWindow(prefix=prefix, suffix=suffix, start_line=start_line)


def _chunks_before(
    text: str, offset: int, cursor_line: int, first: int, align: int
) -> list[tuple[int, str]]:
    """(first line, text) of each aligned chunk from line `first` up to the cursor."""
    starts = _line_starts_back(text, offset, cursor_line - first)
    # starts[i] is the offset of line (cursor_line - i); walk them oldest first.
    chunks: list[tuple[int, str]] = []
    line = first
    while line <= cursor_line:
        begin = starts[cursor_line - line]
        end_line = line + align
        end = starts[cursor_line - end_line] if end_line <= cursor_line else offset
        chunks.append((line, text[begin:end]))
        line = end_line
    return chunks


def _line_starts_back(text: str, offset: int, lines: int) -> list[int]:
    """Offsets of the cursor's line start and of the `lines` line starts before it."""
    starts = []
    position = offset
    for _ in range(lines + 1):
        newline = text.rfind("\n", 0, position)
        starts.append(newline + 1)
        if newline < 0:
            break
        position = newline
    while len(starts) < lines + 1:
        starts.append(0)
    return starts


def _fit_chunks(chunks: list[tuple[int, str]], budget: int, count: TokenCounter) -> int:
    """The first line of the chunks kept: drop whole chunks from the front to fit."""
    costs = [count(chunk) for _, chunk in chunks]
    total = sum(costs)
    index = 0
    # The cursor's own chunk is always kept, even alone over budget (then cut by characters
    # upstream: a window must end at the cursor).
    while total > budget and index < len(chunks) - 1:
        total -= costs[index]
        index += 1
    return chunks[index][0] if chunks else 0


def _suffix_lines(
    text: str, offset: int, cursor_line: int, lines: int, budget: int, count: TokenCounter
) -> str:
    """The rest of the cursor's line and up to `lines` more, within `budget` tokens.

    Counted in chunks that end on aligned line numbers too (the same chunks come back while
    the user types above them), then line by line inside the chunk that does not fit.
    """
    if budget <= 0:
        return ""  # no suffix wanted (a base model only continues the prefix)
    line_ends = _line_ends_forward(text, offset, lines + 1)
    kept = offset
    spent = 0
    chunk_start = 0
    while chunk_start < len(line_ends):
        # line_ends[i] ends line cursor_line + i; chunks end after lines 15, 31, 47, ...
        aligned = _SUFFIX_CHUNK_LINES - (cursor_line + chunk_start) % _SUFFIX_CHUNK_LINES
        chunk_end = min(len(line_ends), chunk_start + aligned)
        begin = line_ends[chunk_start - 1] if chunk_start else offset
        cost = count(text[begin : line_ends[chunk_end - 1]])
        if spent + cost > budget:
            ends = line_ends[chunk_start:chunk_end]
            return text[offset : _fit_lines(text, begin, ends, budget - spent, count)]
        spent += cost
        kept = line_ends[chunk_end - 1]
        chunk_start = chunk_end
    return text[offset:kept]


_SUFFIX_CHUNK_LINES = 16


def _line_ends_forward(text: str, offset: int, lines: int) -> list[int]:
    """Offsets just past each of the next `lines` line ends (or the end of the text)."""
    ends: list[int] = []
    position = offset
    while len(ends) < lines and position < len(text):
        newline = text.find("\n", position)
        position = len(text) if newline < 0 else newline + 1
        ends.append(position)
    return ends


def _fit_lines(text: str, begin: int, ends: list[int], budget: int, count: TokenCounter) -> int:
    """The furthest line end from `ends` whose lines from `begin` fit in `budget`."""
    kept = begin
    for end in ends:
        cost = count(text[kept:end])
        if cost > budget:
            break
        budget -= cost
        kept = end
    return kept
