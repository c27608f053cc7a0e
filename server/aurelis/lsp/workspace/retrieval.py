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

if TYPE_CHECKING:  # the index (tantivy) loads with the first index, not at start-up
    from aurelis.index.repo_index import Snippet

__all__ = [
    "LineStableSnippets",
    "RetrievalQuery",
    "SnippetLike",
    "fitted_snippets",
    "with_recent",
    "query_at",
    "related_code",
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
_KEYWORDS = frozenset(
    {"def", "class", "return", "import", "from", "self", "if", "else", "for", "in", "while",
     "and", "or", "not", "is", "None", "True", "False", "const", "let", "var", "function",
     "this", "new", "func", "fn", "pub", "mut", "public", "private", "static", "void",
     "int", "struct", "async", "await", "with", "as", "try", "except", "raise", "pass"}
)  # fmt: skip


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
    return RetrievalQuery(
        text[window_start:line_start] + current_line, tuple(reversed(names)), partial
    )


def related_code(
    indexes: WorkspaceIndexes,
    path: str | None,
    query: RetrievalQuery,
    own_in_prompt: tuple[int, int] | None = None,
) -> list[Snippet]:
    """Definitions first, then search hits. The file at `path` itself is left out, unless
    `own_in_prompt` says which of its lines (first, last) the prompt holds: then only those
    are (a window of a few hundred tokens leaves most of a long file unseen, and its other
    parts are the code most like the line being written)."""
    if path is None:
        return []
    found = indexes.index_for(path)
    if found is None:
        return []
    index, own = found

    def elsewhere(snippet: Snippet) -> bool:
        if snippet.path != own:
            return True
        return own_in_prompt is not None and (
            snippet.end <= own_in_prompt[0] or snippet.start > own_in_prompt[1]
        )

    snippets = [
        snippet for snippet in index.definitions(query.names, query.partial) if elsewhere(snippet)
    ]
    skip = {own} if own_in_prompt is None else set()
    for hit in index.search(query.text, _SEARCH_LIMIT + len(skip), skip=skip):
        if elsewhere(hit) and not any(_overlaps(hit, kept) for kept in snippets):
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


def fitted_snippets(
    snippets: Sequence[SnippetLike],
    language_id: str,
    allowance: int,
    count_tokens: Callable[[str], int],
) -> list[tuple[str, str, str]]:
    """(path, code, part) of the snippets that fit in `allowance`, best first: `part` is
    the code under a path comment (for a model that only continues text). A snippet over
    what is left keeps its first lines (a definition's signature and docstring, a chunk's
    head) when at least `_MIN_KEPT_LINES` of them fit: a small allowance (a few hundred
    tokens) would otherwise take none of the index's 24-line chunks."""
    marker = "#" if language_id in _HASH_COMMENT else "//"
    fitted: list[tuple[str, str, str]] = []
    left = allowance
    for snippet in snippets:
        lines = snippet.text.rstrip().split("\n")
        kept = _head_that_fits(f"{marker} {snippet.path}\n", lines, left, count_tokens)
        if kept is not None:
            code, part, cost = kept
            fitted.append((snippet.path, code, part))
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
    """Retrieval results kept per line, so a prompt's start stays put while the user types.

    A local model reuses its KV cache for an unchanged prompt start: the snippets ahead of
    the code change only when the cursor's line does, a name is completed on it, or the
    first characters of the word being typed do.
    """

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[object, ...], list[Snippet]] = OrderedDict()

    def lookup(
        self,
        indexes: WorkspaceIndexes,
        uri: str,
        path: str | None,
        text: str,
        offset: int,
        own_in_prompt: tuple[int, int] | None = None,
    ) -> list[Snippet]:
        query = query_at(text, offset)
        line = text.count("\n", 0, offset)
        key = (uri, line, query.names, query.partial[:_STABLE_PARTIAL], own_in_prompt)
        kept = self._kept.get(key)
        if kept is None:
            kept = related_code(indexes, path, query, own_in_prompt)
            self._kept[key] = kept
            if len(self._kept) > _STABLE_ENTRIES:
                self._kept.popitem(last=False)
        return kept
