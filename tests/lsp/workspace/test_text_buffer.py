"""The line buffer behind incremental sync, against a plain-string model of the LSP rules.

The model below is written from the specification (lines end at "\\r\\n", "\\r" or "\\n";
columns count UTF-16 code units; positions past a line or the document clamp) and works on
one string, the slow and obvious way; the buffer must agree with it edit after edit.
"""

from __future__ import annotations

import random

import pytest

from aurelis.lsp.workspace.positions import split_lines
from aurelis.lsp.workspace.text_buffer import BLOCK_LINES, Lines, TextBuffer


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(content start, content end) of every LSP line of `text`."""
    spans, start, index = [], 0, 0
    while index < len(text):
        char = text[index]
        if char in "\r\n":
            spans.append((start, index))
            index += 2 if text.startswith("\r\n", index) else 1
            start = index
        else:
            index += 1
    spans.append((start, len(text)))
    return spans


def _model_offset(text: str, line: int, column: int) -> int:
    spans = _line_spans(text)
    if line >= len(spans):
        return len(text)
    start, end = spans[line]
    units, index = 0, start
    while index < end and units < column:
        units += 2 if ord(text[index]) > 0xFFFF else 1
        index += 1
    return index


def _model_replace(text: str, start: tuple[int, int], end: tuple[int, int], new: str) -> str:
    a, b = _model_offset(text, *start), _model_offset(text, *end)
    a, b = min(a, b), max(a, b)
    return text[:a] + new + text[b:]


_PIECES = ["a", "bc", " ", "\n", "\r\n", "\r", "😀", "é", "\u2028", "\x0c", "def f():\n"]


def _random_text(rng: random.Random, pieces: int) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(pieces))


def _random_position(rng: random.Random, text: str) -> tuple[int, int]:
    lines = len(_line_spans(text))
    # Mostly inside the document, sometimes past a line's end or past the last line.
    return rng.randrange(lines + 2), rng.randrange(12)


@pytest.mark.parametrize("seed", range(6))
def test_random_edits_agree_with_the_specification(seed: int) -> None:
    rng = random.Random(seed)
    text = _random_text(rng, 400)
    buffer = TextBuffer(text)
    for _ in range(300):
        start, end = _random_position(rng, text), _random_position(rng, text)
        new = _random_text(rng, rng.randrange(4))
        text = _model_replace(text, start, end, new)
        buffer.replace(start, end, new)
        assert buffer.text == text
    assert list(buffer.lines()) == split_lines(text)


def test_edits_across_many_blocks_agree_with_the_specification() -> None:
    rng = random.Random(7)
    text = "".join(f"line {n} 😀\r\n" if n % 3 else f"line {n}\n" for n in range(BLOCK_LINES * 6))
    buffer = TextBuffer(text)
    for _ in range(60):
        first = rng.randrange(BLOCK_LINES * 6)
        last = first + rng.randrange(BLOCK_LINES * 2)
        pasted = "".join(f"new {n}\n" for n in range(rng.randrange(BLOCK_LINES * 3)))
        start, end = (first, rng.randrange(8)), (last, rng.randrange(8))
        text = _model_replace(text, start, end, pasted)
        buffer.replace(start, end, pasted)
    assert buffer.text == text
    assert len(buffer.lines()) == len(_line_spans(text))


def test_offsets_and_positions_agree_with_the_specification() -> None:
    rng = random.Random(3)
    text = _random_text(rng, 3000)
    lines = Lines.of(text)
    for _ in range(500):
        line, column = _random_position(rng, text)
        assert lines.offset(line, column) == _model_offset(text, line, column)
    for offset in range(0, len(text) + 1, 7):
        line, column = lines.position(offset)
        # The position of an offset inside a terminator is the end of that line.
        assert _model_offset(text, line, column) == min(offset, _line_spans(text)[line][1])


def test_a_view_taken_before_an_edit_keeps_its_text() -> None:
    buffer = TextBuffer("one\ntwo\nthree\n")
    before = buffer.lines()
    buffer.replace((1, 0), (2, 0), "2\n")
    assert before.text == "one\ntwo\nthree\n"
    assert buffer.text == "one\n2\nthree\n"


def test_a_clamped_edit_is_reported_and_still_applied() -> None:
    buffer = TextBuffer("abc\n")
    assert buffer.replace((5, 0), (5, 0), "tail") is False
    assert buffer.replace((0, 99), (0, 99), "!") is False
    assert buffer.replace((1, 4), (1, 4), ".") is True
    assert buffer.text == "abc!\ntail."


def test_a_newline_after_a_lone_carriage_return_joins_it_into_one_line_end() -> None:
    buffer = TextBuffer("a\rb")
    buffer.replace((1, 0), (1, 0), "\n")
    assert len(buffer.lines()) == 2
    buffer.replace((1, 0), (1, 0), "X")
    assert buffer.text == "a\r\nXb"
