"""Next-line completion on a repository, through the editor's inline path: the same
window, retrieval, request and post-processing (`lsp.inline`) as a completion typed in the
editor, at seeded positions, with retrieval on and off side by side.

A position is the start of a line's code (after its indentation); the document is the
file without that line, so the model must write it. A position is *cross-file* when the
line uses a name defined in another file of the repository and not in its own.
"""

from __future__ import annotations

import difflib
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aurelis.index.files import IndexFilter, indexable_files, read_source
from aurelis.index.repo_index import RepoIndex
from aurelis.models.types import ModelRequest, ModelResponse

__all__ = ["LinePosition", "LineOutcome", "pick_positions", "complete_line"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MIN_LINE_CHARS = 12
_SKIPPED_STARTS = ("#", '"""', "'''", "import ", "from ", "@")

Ask = Callable[[ModelRequest], Awaitable[ModelResponse]]


@dataclass(frozen=True)
class LinePosition:
    path: str  # relative to the repository
    line: int  # 0-based
    indent: str
    expected: str
    cross_file: bool


@dataclass(frozen=True)
class LineOutcome:
    position: LinePosition
    retrieval: bool
    suggestion: str
    exact: bool
    similarity: float
    seconds: float


def pick_positions(
    index: RepoIndex, count: int, seed: int, *, cross_file_only: bool = False
) -> list[LinePosition]:
    """`count` seeded positions in the repository's Python files, a few per file;
    `cross_file_only`: only lines that use a name defined in another file (a few in a
    hundred lines are, too few in a plain sample to compare retrieval on and off)."""
    files = sorted(
        path for path, _ in indexable_files(index.root, IndexFilter()) if path.endswith(".py")
    )
    generator = random.Random(seed)
    generator.shuffle(files)
    positions: list[LinePosition] = []
    for relative in files:
        read = read_source(index.root, relative)
        if read is None:
            continue
        positions += _positions_in(index, relative, read[0], generator, cross_file_only)
        if len(positions) >= count:
            return positions[:count]
    return positions


def _positions_in(
    index: RepoIndex, relative: str, text: str, generator: random.Random, cross_file_only: bool
) -> list[LinePosition]:
    """Up to `_PER_FILE` positions of one file, in seeded order."""
    candidates = _candidate_lines(text.split("\n"))
    if not cross_file_only:
        numbers = generator.sample(candidates, min(_PER_FILE, len(candidates)))
        return [_position(index, relative, text, number) for number in numbers]
    generator.shuffle(candidates)
    found: list[LinePosition] = []
    for number in candidates:
        position = _position(index, relative, text, number)
        if position.cross_file:
            found.append(position)
            if len(found) == _PER_FILE:
                break
    return found


_PER_FILE = 2


def _candidate_lines(lines: list[str]) -> list[int]:
    return [
        number
        for number, line in enumerate(lines)
        if number > 3
        and len(line.strip()) >= _MIN_LINE_CHARS
        and not line.strip().startswith(_SKIPPED_STARTS)
    ]


def _position(index: RepoIndex, relative: str, text: str, number: int) -> LinePosition:
    line = text.split("\n")[number]
    stripped = line.lstrip()
    own = set(_IDENTIFIER.findall("\n".join(text.split("\n")[:number])))
    used = [name for name in _IDENTIFIER.findall(stripped) if len(name) > 3]
    elsewhere = index.definitions([name for name in used if name not in own], limit=4)
    cross = any(snippet.path != relative for snippet in elsewhere)
    return LinePosition(relative, number, line[: len(line) - len(stripped)], stripped, cross)


def document_at(root: Path, position: LinePosition) -> tuple[str, int]:
    """The file without the line, and the cursor's offset where the line's code starts."""
    lines = (root / position.path).read_text(encoding="utf-8").split("\n")
    before = "\n".join(lines[: position.line]) + "\n" + position.indent
    after = "\n" + "\n".join(lines[position.line + 1 :])
    return before + after, len(before)


def score(suggestion: str, expected: str) -> tuple[bool, float]:
    """Exact match of the first line (spaces at the ends aside) and edit similarity."""
    first = suggestion.split("\n", 1)[0].strip()
    similarity = difflib.SequenceMatcher(None, first, expected.strip()).ratio()
    return first == expected.strip(), similarity


async def complete_line(
    ask: Ask,
    build: Callable[[str, int], ModelRequest | None],
    shape: Callable[[ModelResponse, str, str], str],
    root: Path,
    position: LinePosition,
    retrieval: bool,
    before: Callable[[str, int], Awaitable[None]] | None = None,
) -> LineOutcome:
    """One completion at `position`: request, answer, suggestion, score. `before` runs
    first, unclocked (what the editor has done by then: the line's embedding)."""
    text, offset = document_at(root, position)
    if before is not None:
        await before(text, offset)
    request = build(text, offset)
    started = time.perf_counter()
    suggestion = ""
    if request is not None:
        response = await ask(request)
        suggestion = shape(response, text[:offset], text[offset:])
    seconds = time.perf_counter() - started
    exact, similarity = score(suggestion, position.expected)
    return LineOutcome(position, retrieval, suggestion, exact, similarity, seconds)
