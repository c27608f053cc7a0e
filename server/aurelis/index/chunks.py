"""A file cut into chunks with stable boundaries, and the names it defines.

Boundaries fall where top-level definitions start (found by tree-sitter; blank-line runs
for languages without a grammar), so an edit inside one function changes that chunk alone
and the others keep their text, whatever the line numbers do. Long stretches are cut again
every `CHUNK_LINES` lines from their own start. Text is redacted before it is kept (by
`masking`, which gives what `redact` gives): the index, on disk or in memory, never holds
a secret that redaction recognises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aurelis.index.languages import LoadedGrammar, grammar_for, load_grammar
from aurelis.index.masking import redact_for_index

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["CHUNK_LINES", "Chunk", "Symbol", "chunk_source"]

#: The longest chunk, in lines (Tabby and Continue cut at a few dozen lines as well).
CHUNK_LINES = 40
_NAME_TYPES = frozenset(
    {"identifier", "type_identifier", "field_identifier", "property_identifier",
     "name", "constant", "namespace_identifier"}
)  # fmt: skip


@dataclass(frozen=True)
class Symbol:
    """A name defined in a file: `line` is 0-based, `kind` the node type that defines it."""

    name: str
    kind: str
    line: int


@dataclass(frozen=True)
class Chunk:
    """Lines [start, end) of a file (0-based), redacted."""

    start: int
    end: int
    text: str


def chunk_source(path: str, text: str) -> tuple[list[Chunk], list[Symbol]]:
    """The chunks and symbols of `text` (the file at `path`, relative to its root)."""
    lines = text.splitlines(keepends=True)
    grammar = grammar_for(path)
    loaded = load_grammar(grammar) if grammar is not None else None
    symbols: list[Symbol] = []
    breaks: list[int] = []
    if loaded is not None:
        tree_root = loaded.parser.parse(text.encode("utf-8")).root_node
        symbols = _symbols(tree_root, loaded)
        breaks = [child.start_point[0] for child in tree_root.children if child.is_named]
    else:
        breaks = _paragraph_starts(lines)
    return _cut(lines, breaks), symbols


def _paragraph_starts(lines: list[str]) -> list[int]:
    return [
        number
        for number, line in enumerate(lines)
        if line.strip() and (number == 0 or not lines[number - 1].strip())
    ]


def _cut(lines: list[str], breaks: list[int]) -> list[Chunk]:
    """Segments from each break to the next, short neighbours merged up to CHUNK_LINES."""
    starts = sorted({0, *(line for line in breaks if 0 < line < len(lines))})
    ends = [*starts[1:], len(lines)]
    chunks: list[Chunk] = []
    begin = 0
    for start, end in zip(starts, ends, strict=True):
        if end - begin <= CHUNK_LINES:
            continue  # this segment still fits with the ones before it
        if start > begin:
            chunks.extend(_pieces(lines, begin, start))
        chunks.extend(_pieces(lines, start, end) if end - start > CHUNK_LINES else [])
        begin = end if end - start > CHUNK_LINES else start
    chunks.extend(_pieces(lines, begin, len(lines)))
    return [chunk for chunk in chunks if chunk.text.strip()]


def _pieces(lines: list[str], begin: int, end: int) -> list[Chunk]:
    pieces = []
    for start in range(begin, end, CHUNK_LINES):
        stop = min(start + CHUNK_LINES, end)
        pieces.append(Chunk(start, stop, redact_for_index("".join(lines[start:stop]))))
    return pieces


def _symbols(root: Node, grammar: LoadedGrammar) -> list[Symbol]:
    found = []
    for node in grammar.definitions.captures(root).get("definition", []):
        name = _defined_name(node)
        if name:
            found.append(Symbol(name, node.type, node.start_point[0]))
    found.sort(key=lambda symbol: symbol.line)
    return found


def _defined_name(node: Node) -> str | None:
    if node.type == "expression_statement":  # Python's module-level `NAME = ...`
        node = node.named_children[0]
    target = node.child_by_field_name("name") or node.child_by_field_name("left")
    if target is None:
        target = node.child_by_field_name("declarator")
    # C declarators nest (pointer → function → identifier): follow them to the name.
    for _ in range(4):
        if target is None or target.type in _NAME_TYPES:
            break
        target = target.child_by_field_name("declarator") or target.child_by_field_name("name")
    if target is None or target.type not in _NAME_TYPES or target.text is None:
        return None
    return target.text.decode("utf-8", errors="replace")
