"""Code from elsewhere in the repository for a prompt: definitions of the names at and
before the cursor, then the chunks BM25 ranks best against the code around it.

Memory only (the index is searched in memory), so it fits in any request's time box.
The document's own file is left out (the prompt holds it already) and so is any snippet
already in the prompt; what is returned is cut to the caller's token allowance.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aurelis.lsp.workspace.indexes import WorkspaceIndexes
from aurelis.lsp.workspace.recent_edits import OPENED

if TYPE_CHECKING:  # the index (tantivy) loads with the first index, not at start-up
    from aurelis.index.repo_index import RepoIndex, Snippet

__all__ = [
    "FittedSnippet",
    "LineStableSnippets",
    "RetrievalQuery",
    "SnippetLike",
    "fitted_snippets",
    "with_recent",
    "query_at",
    "definitions_at",
    "fused",
    "related_code",
    "search_hits",
    "render_snippets",
]

_QUERY_LINES = 12
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTIAL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_MAX_SNIPPETS = 8
_STABLE_ENTRIES = 64
#: Characters of the word being typed that decide the lookup (more would change per key).
_STABLE_PARTIAL = 4
_HASH_COMMENT = frozenset(
    {"python", "shellscript", "ruby", "perl", "r", "yaml", "toml", "dockerfile", "makefile"}
)
_SEARCH_LIMIT = 6
_FUSION_K = 60
_KEYWORDS = frozenset(
    {"def", "class", "return", "import", "from", "self", "if", "else", "for", "in", "while",
     "and", "or", "not", "is", "None", "True", "False", "const", "let", "var", "function",
     "this", "new", "func", "fn", "pub", "mut", "public", "private", "static", "void",
     "int", "struct", "async", "await", "with", "as", "try", "except", "raise", "pass"}
)  # fmt: skip


class DocumentLike(Protocol):
    """The document a prompt is for (an `lsp.workspace.documents.DocumentSnapshot`)."""

    @property
    def uri(self) -> str: ...
    @property
    def path(self) -> str | None: ...
    @property
    def text(self) -> str: ...


class SnippetLike(Protocol):
    """Code for a prompt: lines [start, end) of `path` (relative to its workspace folder);
    the index's `Snippet` and the recent-edits ring's `RecentChunk` both are."""

    @property
    def path(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class RetrievalQuery:
    """What is looked up: the code before the cursor, the names on the cursor's line and
    the partial name being typed."""

    text: str
    names: tuple[str, ...]
    partial: str
    #: The lines before the cursor's line alone: what stays the same while typing on it.
    before_line: str = ""


def query_at(text: str, offset: int) -> RetrievalQuery:
    """The query for a cursor at `offset` of `text`."""
    line_start = text.rfind("\n", 0, offset) + 1
    window_start = line_start
    for _ in range(_QUERY_LINES):
        if window_start == 0:
            break
        window_start = text.rfind("\n", 0, window_start - 1) + 1
    before_cursor = text[line_start:offset]
    partial_match = _PARTIAL.search(before_cursor)
    partial = partial_match.group(0) if partial_match else ""
    names = [name for name in _IDENTIFIER.findall(before_cursor) if name not in _KEYWORDS]
    if partial and names and names[-1] == partial:
        names.pop()
    line_end = text.find("\n", offset)
    current_line = text[line_start : len(text) if line_end == -1 else line_end]
    before_line = text[window_start:line_start]
    return RetrievalQuery(before_line + current_line, tuple(reversed(names)), partial, before_line)


def related_code(
    indexes: WorkspaceIndexes,
    path: str | None,
    query: RetrievalQuery,
    similar: Sequence[Snippet] = (),
) -> list[Snippet]:
    """Definitions first, then search hits (BM25's, fused with the chunks `similar` in
    meaning when there are any); never from the file at `path` itself."""
    hits = fused(search_hits(indexes, path, query.text), similar)
    return _combined(definitions_at(indexes, path, query), hits)


def fused(*rankings: Sequence[Snippet]) -> list[Snippet]:
    """One ranking from several by reciprocal rank fusion: a chunk scores the sum of
    1 / (k + rank) over the rankings holding it (k = 60, as Tabby fuses BM25 and
    embeddings). A chunk ranked well by both beats one ranked first by one alone."""
    scores: dict[tuple[str, int, int], float] = {}
    chunks: dict[tuple[str, int, int], Snippet] = {}
    for ranking in rankings:
        for rank, snippet in enumerate(ranking, 1):
            place = (snippet.path, snippet.start, snippet.end)
            scores[place] = scores.get(place, 0.0) + 1.0 / (_FUSION_K + rank)
            chunks.setdefault(place, snippet)
    return [chunks[place] for place in sorted(scores, key=lambda p: -scores[p])]


def definitions_at(
    indexes: WorkspaceIndexes | None,
    path: str | None,
    query: RetrievalQuery,
    own_in_prompt: tuple[int, int] | None = None,
) -> list[Snippet]:
    """Where the names at the cursor and the name being typed are defined. The file at
    `path` itself is left out, unless `own_in_prompt` says which of its lines (first, last)
    the prompt holds: then only those are (a window of a few hundred tokens leaves most of
    a long file unseen, and its other parts are the code most like the line written)."""
    if (found := _located(indexes, path)) is None:
        return []
    index, own = found
    return [
        snippet
        for snippet in index.definitions(query.names, query.partial)
        if _elsewhere(snippet, own, own_in_prompt)
    ]


def search_hits(
    indexes: WorkspaceIndexes | None,
    path: str | None,
    text: str,
    own_in_prompt: tuple[int, int] | None = None,
) -> list[Snippet]:
    """The chunks BM25 ranks best for `text`, with the same rule for the own file."""
    if (found := _located(indexes, path)) is None:
        return []
    index, own = found
    skip = {own} if own_in_prompt is None else set()
    return [
        hit
        for hit in index.search(text, _SEARCH_LIMIT, skip=skip)
        if _elsewhere(hit, own, own_in_prompt)
    ]


def _located(indexes: WorkspaceIndexes | None, path: str | None) -> tuple[RepoIndex, str] | None:
    """The index holding `path` and its path there, if any."""
    return indexes.index_for(path) if indexes is not None and path is not None else None


def _elsewhere(snippet: Snippet, own: str, own_in_prompt: tuple[int, int] | None) -> bool:
    """Not code the prompt holds already."""
    if snippet.path != own:
        return True
    return own_in_prompt is not None and _outside(snippet, own_in_prompt)


def _combined(definitions: list[Snippet], hits: list[Snippet]) -> list[Snippet]:
    snippets = list(definitions)
    for hit in hits:
        if not any(_overlaps(hit, kept) for kept in snippets):
            snippets.append(hit)
    return snippets[:_MAX_SNIPPETS]


def with_recent(found: Sequence[SnippetLike], recent: Sequence[SnippetLike]) -> list[SnippetLike]:
    """The index's snippets with the recently edited chunks: definitions of the names at
    the cursor first, then what the user just worked on, then search hits; a snippet that
    overlaps one kept before it is left out (the same lines are never sent twice)."""
    ordered = [
        *(snippet for snippet in found if snippet.source == "definition"),
        *recent,
        *(snippet for snippet in found if snippet.source != "definition"),
    ]
    kept: list[SnippetLike] = []
    for snippet in ordered:
        if not any(_overlaps(snippet, other) for other in kept):
            kept.append(snippet)
    return kept[:_MAX_SNIPPETS]


def render_snippets(
    snippets: Sequence[SnippetLike],
    allowance: int,
    count_tokens: Callable[[str], int],
    already: str = "",
) -> str:
    """`### path:first-last` sections, best first, within `allowance` tokens."""
    parts: list[str] = []
    left = allowance
    for snippet in snippets:
        body = snippet.text.strip("\n")
        if not body.strip() or body in already:
            continue
        part = f"### {snippet.path}:{snippet.start + 1}-{snippet.end}\n{body}"
        cost = count_tokens(part)
        if cost > left:
            continue  # a later, shorter snippet may still fit
        parts.append(part)
        left -= cost
    return "\n\n".join(parts)


def _overlaps(one: SnippetLike, other: SnippetLike) -> bool:
    return one.path == other.path and one.start < other.end and other.start < one.end


@dataclass(frozen=True)
class FittedSnippet:
    """A snippet as it goes into a prompt: its `code` (whole, or its first lines) and the
    same under a path comment (`part`, for a model that only continues text)."""

    path: str
    start: int  # lines [start, end) of `path` that `code` holds
    end: int
    code: str
    part: str
    source: str


def fitted_snippets(
    snippets: Sequence[SnippetLike],
    language_id: str,
    allowance: int,
    count_tokens: Callable[[str], int],
) -> list[FittedSnippet]:
    """The snippets that fit in `allowance`, best first. A snippet over
    what is left keeps its first lines (a definition's signature and docstring, a chunk's
    head) when at least `_MIN_KEPT_LINES` of them fit: a small allowance (a few hundred
    tokens) would otherwise take none of the index's 24-line chunks."""
    marker = "#" if language_id in _HASH_COMMENT else "//"
    fitted: list[FittedSnippet] = []
    left = allowance
    for snippet in snippets:
        lines = snippet.text.rstrip().split("\n")
        kept = _head_that_fits(f"{marker} {snippet.path}\n", lines, left, count_tokens)
        if kept is not None:
            code, part, cost = kept
            end = snippet.start + code.count("\n")
            fitted.append(
                FittedSnippet(snippet.path, snippet.start, end, code, part, snippet.source)
            )
            left -= cost
    return fitted


_MIN_KEPT_LINES = 3


def _head_that_fits(
    header: str, lines: list[str], left: int, count_tokens: Callable[[str], int]
) -> tuple[str, str, int] | None:
    """(code, part, tokens) of the longest head of `lines` within `left`, or None."""
    keep = len(lines)
    while keep >= min(_MIN_KEPT_LINES, len(lines)) and keep > 0:
        code = "\n".join(lines[:keep]) + "\n"
        part = f"{header}{code}\n"
        cost = count_tokens(part)
        if cost <= left:
            return code, part, cost
        # Shrink in proportion to the excess (one or two more counts), at least a line.
        keep = min(keep - 1, keep * left // max(cost, 1))
    return None


class LineStableSnippets:
    """Related code kept while the cursor stays on its line, or in its window, so a
    prompt's start stays put while the user types.

    A local model reuses its KV cache for an unchanged prompt start, and reading a prompt
    again costs it seconds on two cores. The search hits and the recent edits are chosen
    once per line (from the lines before it: typing on the line does not change them); for
    a window of the document (`own_in_prompt`), once per window start, which moves every
    few lines and costs a new prompt anyway. The definitions follow the names on the line
    (a completed name, or the first characters of the one being typed, may find one: worth
    a new prompt).
    """

    def __init__(self) -> None:
        self._around: OrderedDict[tuple[object, ...], list[SnippetLike]] = OrderedDict()
        self._definitions: OrderedDict[tuple[object, ...], list[SnippetLike]] = OrderedDict()

    def lookup(
        self,
        indexes: WorkspaceIndexes | None,
        document: DocumentLike,
        offset: int,
        own_in_prompt: tuple[int, int] | None,
        recent: Callable[[], Sequence[SnippetLike]],
    ) -> list[SnippetLike]:
        query = query_at(document.text, offset)
        line = document.text.count("\n", 0, offset)
        uri, path = document.uri, document.path
        held: tuple[object, ...] = (
            (uri, "window", own_in_prompt[0]) if own_in_prompt is not None else (uri, line)
        )

        def around() -> list[SnippetLike]:
            hits = search_hits(indexes, path, query.before_line, own_in_prompt)
            ring = list(recent())
            if own_in_prompt is not None:
                # A file's head from merely opening it (imports, a licence) rarely helps a
                # line, and would cost the window's first request a longer prompt to read.
                ring = [chunk for chunk in ring if chunk.source != OPENED]
            return with_recent(hits, ring)

        kept = _remembered(self._around, held, around)
        definitions = _remembered(
            self._definitions,
            (uri, line, query.names, query.partial[:_STABLE_PARTIAL], own_in_prompt),
            lambda: list(definitions_at(indexes, path, query, own_in_prompt)),
        )
        if own_in_prompt is not None and (found := _located(indexes, path)) is not None:
            # Lines typed since the snippets were chosen may have joined the window.
            kept = [s for s in kept if s.path != found[1] or _outside(s, own_in_prompt)]
        return with_recent(definitions, kept)


def _outside(snippet: SnippetLike, lines: tuple[int, int]) -> bool:
    return snippet.end <= lines[0] or snippet.start > lines[1]


def _remembered(
    kept: OrderedDict[tuple[object, ...], list[SnippetLike]],
    key: tuple[object, ...],
    find: Callable[[], list[SnippetLike]],
) -> list[SnippetLike]:
    found = kept.get(key)
    if found is None:
        found = kept[key] = find()
        if len(kept) > _STABLE_ENTRIES:
            kept.popitem(last=False)
    return found
