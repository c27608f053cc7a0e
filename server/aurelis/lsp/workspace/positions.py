"""LSP columns and line ends, decided in one place for every part of the server.

An LSP position is (line, column), the column counted in code units of the negotiated
encoding: UTF-16 by default, UTF-8 or UTF-32 when the client offers them. Python strings
index by code point, so every conversion needs the same two answers — where lines end and
how many units a character takes — and two places answering differently put edits in the
wrong place for the user with an emoji or an old Mac file.

Lines end as the LSP says: "\\n", "\\r\\n" or a lone "\\r" (not `str.splitlines`, which also
breaks at form feeds, U+2028 and other characters editors keep inside a line). A lone
surrogate (JSON may carry one) is one UTF-16 unit and three UTF-8 bytes, never an error.
A column past the end of a line is the line's end; a column inside a surrogate pair (or a
multi-byte UTF-8 sequence) counts as after that character.
"""

from __future__ import annotations

import re

__all__ = [
    "ENCODINGS",
    "column_to_index",
    "encoding_name",
    "index_to_column",
    "line_content",
    "split_lines",
]

#: The position encodings of the LSP, by the names it uses on the wire.
ENCODINGS = ("utf-8", "utf-16", "utf-32")
_TERMINATOR = re.compile(r"(\r\n|\r|\n)")


def encoding_name(encoding: object) -> str:
    """ "utf-8", "utf-16" or "utf-32" (an enum or its value; utf-16 unless negotiated)."""
    value = getattr(encoding, "value", encoding)
    return value if isinstance(value, str) and value in ENCODINGS else "utf-16"


def split_lines(text: str) -> list[str]:
    """`text` as LSP lines, each with its terminator; the last one has none (maybe "")."""
    if "\r" not in text:
        parts = text.split("\n")
        last = parts.pop()
        lines = [part + "\n" for part in parts]
        lines.append(last)
        return lines
    pieces = _TERMINATOR.split(text)  # content, terminator, content, ..., content
    lines = [pieces[i] + pieces[i + 1] for i in range(0, len(pieces) - 1, 2)]
    lines.append(pieces[-1])
    return lines


def line_content(line: str) -> str:
    """The line without its terminator."""
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    return line[:-1] if line.endswith("\r") else line


def _units(char: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(char.encode("utf-8", "surrogatepass"))
    return 2 if ord(char) > 0xFFFF else 1


def column_to_index(content: str, column: int, encoding: str = "utf-16") -> int:
    """The string index of `column` (in `encoding` code units) in a line's content."""
    column = max(column, 0)
    if encoding == "utf-32" or content.isascii():
        return min(column, len(content))
    units = 0
    for index, char in enumerate(content):
        if units >= column:
            return index
        units += _units(char, encoding)
    return len(content)


def index_to_column(content: str, index: int, encoding: str = "utf-16") -> int:
    """The column (in `encoding` code units) of string index `index` in a line's content."""
    segment = content[: max(index, 0)]
    if encoding == "utf-32" or segment.isascii():
        return len(segment)
    return sum(_units(char, encoding) for char in segment)
