"""LSP positions and string offsets: one converter, whether a snapshot holds line blocks
(an open document) or only its text (a file read for an edit).

Each case is checked both ways: the two kinds of snapshot once answered differently for a
lone "\\r", and the text-only one raised on a lone surrogate in UTF-8.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from lsprotocol import types

from aurelis.lsp.symbols import enclosing_definition
from aurelis.lsp.workspace.documents import DocumentSnapshot, offset_at, position_at
from aurelis.lsp.workspace.positions import encoding_name
from aurelis.lsp.workspace.text_buffer import Lines


def _snapshot(text: str, encoding: str, lines: Lines | None = None) -> DocumentSnapshot:
    return DocumentSnapshot(
        uri="file:///t.py",
        path=None,
        language_id="python",
        version=1,
        text=text,
        encoding=encoding,
        lines=lines,
    )


def _snapshots(text: str, encoding: str) -> list[DocumentSnapshot]:
    lines = Lines.of(text)
    return [_snapshot(text, encoding), _snapshot(lines.text, encoding, lines)]


def _offset_both_ways(text: str, line: int, column: int, encoding: str) -> int:
    position = types.Position(line=line, character=column)
    offsets = {snapshot.offset(position) for snapshot in _snapshots(text, encoding)}
    offsets.add(offset_at(text, position, encoding))
    assert len(offsets) == 1, f"converters disagree: {offsets}"
    return offsets.pop()


def _position_both_ways(text: str, offset: int, encoding: str) -> tuple[int, int]:
    found = {
        (p.line, p.character)
        for p in [s.position(offset) for s in _snapshots(text, encoding)]
        + [position_at(text, offset, encoding)]
    }
    assert len(found) == 1, f"converters disagree: {found}"
    return found.pop()


# "b" follows an emoji (outside the BMP): 4 UTF-8 bytes, 2 UTF-16 units, 1 code point.
@pytest.mark.parametrize(("encoding", "column_of_b"), [("utf-8", 5), ("utf-16", 3), ("utf-32", 2)])
def test_a_column_counts_the_units_of_the_negotiated_encoding(
    encoding: str, column_of_b: int
) -> None:
    text = "a😀b\n"
    assert _offset_both_ways(text, 0, column_of_b, encoding) == text.index("b")
    assert _position_both_ways(text, text.index("b"), encoding) == (0, column_of_b)


@pytest.mark.parametrize(("encoding", "inside"), [("utf-8", 2), ("utf-16", 2)])
def test_a_column_inside_a_surrogate_pair_or_byte_sequence_means_after_it(
    encoding: str, inside: int
) -> None:
    assert _offset_both_ways("a😀b", 0, inside, encoding) == 2


@pytest.mark.parametrize(("encoding", "column_of_y"), [("utf-8", 4), ("utf-16", 2), ("utf-32", 2)])
def test_a_lone_surrogate_is_counted_not_an_error(encoding: str, column_of_y: int) -> None:
    text = "x\ud800y"  # JSON may carry one; the document keeps it as it came
    assert _offset_both_ways(text, 0, column_of_y, encoding) == 2
    assert _position_both_ways(text, 2, encoding) == (0, column_of_y)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_a_lone_carriage_return_ends_a_line(encoding: str) -> None:
    text = "one\rtwo\rthree"
    assert _offset_both_ways(text, 1, 1, encoding) == text.index("wo")
    assert _offset_both_ways(text, 2, 0, encoding) == text.index("three")
    assert _position_both_ways(text, text.index("three"), encoding) == (2, 0)


def test_crlf_is_one_line_end_and_no_position_lands_inside_it() -> None:
    text = "ab\r\ncd"
    assert _offset_both_ways(text, 1, 0, "utf-16") == 4
    assert _offset_both_ways(text, 0, 9, "utf-16") == 2  # past the line's end: before "\r"
    assert _position_both_ways(text, 3, "utf-16") == (0, 2)  # between "\r" and "\n"


def test_form_feed_and_line_separator_stay_inside_their_line() -> None:
    text = "a\x0cb\u2028c\nd"
    assert _position_both_ways(text, text.index("c"), "utf-16") == (0, 4)
    assert _offset_both_ways(text, 1, 0, "utf-16") == text.index("d")


def test_positions_past_the_end_clamp_to_the_line_or_the_document() -> None:
    text = "short\nline two\n"
    assert _offset_both_ways(text, 0, 99, "utf-16") == 5
    assert _offset_both_ways(text, 42, 0, "utf-16") == len(text)
    assert _position_both_ways(text, len(text) + 10, "utf-16") == (2, 0)
    assert _position_both_ways(text, -3, "utf-16") == (0, 0)


def test_replacing_a_snapshots_text_drops_its_stale_lines() -> None:
    _, with_lines = _snapshots("old\rtext", "utf-16")
    fresh = replace(with_lines, text="new\ntext here")
    assert fresh.offset(types.Position(line=1, character=5)) == len("new\ntext ")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("utf-8", "utf-8"),
        (types.PositionEncodingKind.Utf32, "utf-32"),
        (None, "utf-16"),
        ("latin-1", "utf-16"),
    ],
)
def test_an_unknown_or_missing_encoding_means_utf16(given: object, expected: str) -> None:
    assert encoding_name(given) == expected


def test_python_definitions_are_found_in_files_with_old_mac_line_ends() -> None:
    code = "def first():\r    return 1\r\rdef second():\r    return 2\r"
    found = enclosing_definition(code, code.index("return 2"), "python")
    assert found is not None and found.name == "second"
    assert code[found.start : found.end] == "def second():\r    return 2\r"
