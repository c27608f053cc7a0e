"""Context for a model request: what the buffer and the project say about the code at hand.

Buffer context (file, enclosing symbol, imports, diagnostics, surrounding code) is read
from memory, and so is related code from the repository index (definitions of the names
at the cursor, BM25-ranked chunks: `workspace.retrieval`). Project context (open
documents, most recently edited first; the workspace tree; files the buffer imports) may
touch the disk, so it is gathered in a worker thread under a 100 ms time box and only
inside the workspace folders. Actions and chat models' inline prompts may also get chunks
alike in meaning (`workspace.semantic`, when the user turned embeddings on).
Everything is fitted into a token budget, highest-priority section first, and redacted
before it leaves this module.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aurelis.core.secrets import is_secret_file, redact
from aurelis.lsp.budget import count_tokens, fit_head, fit_tail
from aurelis.lsp.symbols import enclosing_header, import_lines, imported_paths
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.indexes import WorkspaceIndexes
from aurelis.lsp.workspace.recent_edits import RecentChunk, RecentEdits
from aurelis.lsp.workspace.retrieval import (
    FittedSnippet,
    LineStableSnippets,
    SnippetLike,
    fitted_snippets,
    query_at,
    related_code,
    render_snippets,
    with_recent,
)
from aurelis.lsp.workspace.workspace_files import (
    TreeListing,
    WorkspaceRoots,
    list_tree,
    read_text_file,
)

if TYPE_CHECKING:
    from aurelis.index.repo_index import Snippet
    from aurelis.lsp.workspace.semantic import SemanticRetrieval

__all__ = [
    "PROJECT_TIME_BOX",
    "ContextSources",
    "ProjectCache",
    "RelatedCode",
    "action_context",
    "continuation_context",
    "inline_context",
    "relative_path",
]

#: Seconds the project part of the context may take (Continue uses 100 ms per source).
PROJECT_TIME_BOX = 0.1
#: An action waits this long at most for the embedding of its query (a round trip to the
#: endpoint; only when the user turned embeddings on), beside the project's time box.
SEMANTIC_TIME_BOX = 0.5
#: Open documents larger than this are left out of other requests' context.
_MAX_OPEN_DOCUMENT_CHARS = 512 * 1024
_MAX_OPEN_DOCUMENTS = 5
_MAX_RELATED_FILES = 4
_TREE_TTL = 30.0
_TREE_ENTRIES = 300


@dataclass
class ProjectCache:
    """Workspace tree listings, refreshed at most every 30 s (a walk is the slow part)."""

    _trees: dict[Path, tuple[float, TreeListing]] = field(default_factory=dict)

    def cached_tree(self, roots: WorkspaceRoots) -> str:
        """The last listing, without touching the disk ("" when there is none yet)."""
        listings = [entry[1] for root in roots.roots if (entry := self._trees.get(root))]
        return _render_tree(listings)

    def tree(self, roots: WorkspaceRoots, deadline: float) -> str:
        now = time.monotonic()
        listings = []
        for root in roots.roots:
            cached = self._trees.get(root)
            if cached is None or now - cached[0] > _TREE_TTL or not cached[1].complete:
                listing = list_tree(root, deadline=deadline, max_entries=_TREE_ENTRIES)
                self._trees[root] = (time.monotonic(), listing)
                cached = self._trees[root]
            listings.append(cached[1])
        return _render_tree(listings)

    def invalidate(self) -> None:
        self._trees.clear()


def _render_tree(listings: Sequence[TreeListing]) -> str:
    parts = []
    for listing in listings:
        lines = [f"{listing.root.name}/", *(f"  {entry}" for entry in listing.entries)]
        if not listing.complete:
            lines.append("  … (listing capped)")
        parts.append("\n".join(lines))
    return "\n".join(parts)


@dataclass(frozen=True)
class ContextSources:
    """Where context comes from: the workspace folders, open documents and the tree cache."""

    roots: WorkspaceRoots
    #: Open documents, most recently edited first.
    open_documents: Callable[[], list[DocumentSnapshot]]
    project: ProjectCache
    #: The repository index of each root (None: no retrieval).
    indexes: WorkspaceIndexes | None = None
    #: Retrieval for local-model prompts, kept per line (see LineStableSnippets).
    line_snippets: LineStableSnippets = field(default_factory=LineStableSnippets)
    #: Where the user edited lately (None: not kept), and the open document of a uri.
    recent: RecentEdits | None = None
    open_document: Callable[[str], DocumentSnapshot | None] = lambda uri: None
    #: Retrieval by meaning for actions and chat models' inline prompts (None, or idle:
    #: BM25 alone).
    semantic: SemanticRetrieval | None = None

    def within(self, root: Path | None) -> ContextSources:
        """Sources that read only `root` (a document's own workspace folder): its open
        documents, its tree and its files; None (outside every folder) reads none."""
        return dataclasses.replace(self, roots=self.roots.within(root))


def relative_path(document: DocumentSnapshot, roots: WorkspaceRoots) -> str:
    """The document's path relative to its workspace folder (its name when outside)."""
    if document.path is None:
        return document.uri.rsplit("/", 1)[-1]
    return roots.relative(document.path)


# A section is (key, largest share of the budget, producer of text within N tokens).
_Producer = Callable[[int], str]
_Section = tuple[str, float, _Producer]


def _fit(sections: list[_Section], budget: int) -> dict[str, str]:
    """Give each section, in priority order, up to its share of what is left."""
    fitted: dict[str, str] = {}
    remaining = budget
    for key, share, produce in sections:
        allowance = min(int(budget * share), remaining)
        if allowance < 8:
            continue
        text = redact(produce(allowance)).strip("\n")
        if not text.strip():
            continue
        # Short texts: the length bounds the token count, no need to tokenize.
        cost = len(text) if len(text) <= 64 else count_tokens(text)
        if cost > allowance:  # redaction can lengthen a line; cut again
            text = fit_head(text, allowance)
            cost = count_tokens(text)
        fitted[key] = text
        remaining -= cost
    return fitted


def _fixed(text: str) -> _Producer:
    return lambda allowance: fit_head(text, allowance)


def _head_lines(text: str, count: int) -> str:
    end = 0
    for _ in range(count):
        newline = text.find("\n", end)
        if newline == -1:
            return text
        end = newline + 1
    return text[:end]


def _is_context_safe(document: DocumentSnapshot, roots: WorkspaceRoots) -> bool:
    """Other open documents join the context only from inside the workspace, never secrets."""
    if document.path is None or is_secret_file(document.path):
        return False
    if len(document.text) > _MAX_OPEN_DOCUMENT_CHARS:
        return False
    return roots.holds_open_document(document.path)


def _open_files(current: DocumentSnapshot, sources: ContextSources) -> _Producer:
    def produce(allowance: int) -> str:
        others: list[DocumentSnapshot] = []
        for doc in sources.open_documents():
            if doc.uri != current.uri and _is_context_safe(doc, sources.roots):
                others.append(doc)
                if len(others) == _MAX_OPEN_DOCUMENTS:
                    break
        parts, left = [], allowance
        for doc in others:
            share = max(left // 2, 64) if doc is not others[-1] else left
            body = fit_head(doc.text, share - 8)
            if not body:
                break
            parts.append(f"### {relative_path(doc, sources.roots)}\n{body}")
            left -= count_tokens(parts[-1])
            if left < 32:
                break
        return "\n\n".join(parts)

    return produce


def _recent_chunks(document: DocumentSnapshot, sources: ContextSources) -> list[RecentChunk]:
    """What the user edited lately in other open documents that may be context here."""
    if sources.recent is None:
        return []

    def usable(uri: str) -> DocumentSnapshot | None:
        found = sources.open_document(uri)
        return found if found is not None and _is_context_safe(found, sources.roots) else None

    chunks = sources.recent.chunks(usable, document.uri)
    return [
        dataclasses.replace(chunk, path=sources.roots.relative(chunk.document_path))
        for chunk in chunks
    ]


def _snippets_at(
    document: DocumentSnapshot,
    offset: int,
    sources: ContextSources,
    *,
    line_stable: bool,
    own_in_prompt: tuple[int, int] | None = None,
    similar: Sequence[Snippet] = (),
) -> list[SnippetLike]:
    """Related code at `offset`: the index's definitions and hits (fused with the chunks
    `similar` in meaning) with the recent edits.
    `line_stable`: what is chosen holds while the cursor stays on its line (with
    `own_in_prompt`, the document's lines a window holds: while the window's start stays
    put; the rest of the document may be related then)."""
    if line_stable:
        return sources.line_snippets.lookup(
            sources.indexes,
            document,
            offset,
            own_in_prompt,
            lambda: _recent_chunks(document, sources),
        )
    found: list[SnippetLike] = []
    if sources.indexes is not None:
        query = query_at(document.text, offset)
        found = list(related_code(sources.indexes, document.path, query, similar))
    return with_recent(found, _recent_chunks(document, sources))


def _related_code(
    document: DocumentSnapshot,
    offset: int,
    sources: ContextSources,
    already: str = "",
    similar: Sequence[Snippet] = (),
) -> _Producer:
    def produce(allowance: int) -> str:
        snippets = _snippets_at(document, offset, sources, line_stable=False, similar=similar)
        return render_snippets(snippets, allowance, count_tokens, already)

    return produce


@dataclass(frozen=True)
class RelatedCode:
    """Related code for a model that continues text: `text` (path-commented snippets, to
    put ahead of the code) and the same snippets as (path, text) pairs, for servers that
    place them themselves (llama.cpp's `/infill` `input_extra`). Redacted."""

    text: str = ""
    pieces: tuple[tuple[str, str], ...] = ()
    #: Where each piece comes from (path, lines, kind), for `aurelis context`.
    snippets: tuple[FittedSnippet, ...] = ()


def continuation_context(
    document: DocumentSnapshot,
    offset: int,
    sources: ContextSources,
    allowance: int,
    count: Callable[[str], int],
    own_in_prompt: tuple[int, int] | None = None,
) -> RelatedCode:
    """Related code for a base model or a fill-in-the-middle route, within `allowance`;
    `own_in_prompt`: the document's lines (first, last) the prompt holds, when it does not
    hold all of them."""
    if allowance <= 0:
        return RelatedCode()
    snippets = _snippets_at(
        document, offset, sources, line_stable=True, own_in_prompt=own_in_prompt
    )
    fitted = fitted_snippets(snippets, document.language_id, allowance, count)
    # Chosen best first, placed most stable first: the definitions, which follow the name
    # being typed, go last, nearest the code, so a new one re-reads only what follows it.
    placed = sorted(fitted, key=lambda snippet: snippet.source == "definition")
    return RelatedCode(
        redact("".join(snippet.part for snippet in placed)),
        tuple((snippet.path, redact(snippet.code)) for snippet in placed),
        tuple(placed),
    )


def inline_context(
    document: DocumentSnapshot, offset: int, sources: ContextSources, budget: int
) -> dict[str, str]:
    """Context for an inline completion: memory only, no disk, no parsing."""
    head = _head_lines(document.text, 300)
    sections: list[_Section] = [
        ("file", 0.1, _fixed(f"{relative_path(document, sources.roots)} ({document.language_id})")),
        (
            "enclosing_symbol",
            0.1,
            _fixed(enclosing_header(document.text, offset, document.language_id) or ""),
        ),
        ("imports", 0.25, _fixed("\n".join(import_lines(head, document.language_id)))),
        (
            "related_code",
            0.45,
            _related_code(document, offset, sources, "", _known(document, offset, sources)),
        ),
        ("open_files", 0.6, _open_files(document, sources)),
        ("project_structure", 0.15, _fixed(sources.project.cached_tree(sources.roots))),
    ]
    return _fit(sections, budget)


async def action_context(
    document: DocumentSnapshot,
    target: tuple[int, int],
    sources: ContextSources,
    budget: int,
    diagnostics: Sequence[str] = (),
) -> dict[str, str]:
    """Context for an editor action on `document[target[0]:target[1]]`."""
    start, end = target
    related, similar = await asyncio.gather(
        _related_files(document, sources), _similar_code(document, end, sources)
    )
    text = document.text
    head = _head_lines(text, 300)
    sections: list[_Section] = [
        (
            "file",
            0.05,
            _fixed(f"{relative_path(document, sources.roots)} ({document.language_id})"),
        ),
        (
            "enclosing_symbol",
            0.05,
            _fixed(enclosing_header(text, start, document.language_id) or ""),
        ),
        ("diagnostics", 0.1, _fixed("\n".join(diagnostics))),
        ("imports", 0.1, _fixed("\n".join(import_lines(head, document.language_id)))),
        ("surrounding_code", 0.35, _surrounding(text, start, end)),
        ("related_files", 0.25, _fixed(related)),
        ("related_code", 0.25, _related_code(document, end, sources, related, similar)),
        ("open_files", 0.2, _open_files(document, sources)),
        ("project_structure", 0.1, _fixed(sources.project.cached_tree(sources.roots))),
    ]
    return _fit(sections, budget)


def _surrounding(text: str, start: int, end: int) -> _Producer:
    def produce(allowance: int) -> str:
        before = fit_tail(text[max(0, start - allowance * 8) : start], allowance * 2 // 3)
        after = fit_head(text[end : end + allowance * 8], allowance // 3)
        if not before.strip() and not after.strip():
            return ""
        return f"{before}<<the code this request is about>>{after}"

    return produce


def _known(document: DocumentSnapshot, offset: int, sources: ContextSources) -> list[Snippet]:
    """Chunks like the code before the cursor's line, when their embedding is at hand."""
    if sources.semantic is None:
        return []
    return sources.semantic.hits_if_known(document.path, document.text, offset)


async def _similar_code(
    document: DocumentSnapshot, offset: int, sources: ContextSources
) -> Sequence[Snippet]:
    """Chunks like the code at `offset` in meaning, when the user turned embeddings on."""
    if sources.semantic is None:
        return ()
    return await sources.semantic.hits(document.path, document.text, offset, SEMANTIC_TIME_BOX)


async def _related_files(document: DocumentSnapshot, sources: ContextSources) -> str:
    """Files the document imports and the workspace tree, within the time box."""
    if not sources.roots or document.path is None:
        return ""
    deadline = time.monotonic() + PROJECT_TIME_BOX
    # Snapshot the open documents here: the worker thread must not iterate the
    # workspace while the event loop applies edits to it.
    opened = {doc.path: doc.text for doc in sources.open_documents() if doc.path}
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(_read_related, document, sources, opened, deadline),
            timeout=PROJECT_TIME_BOX * 3,
        )
    except TimeoutError:
        return ""  # a slow disk costs this request its project context, nothing more


def _read_related(
    document: DocumentSnapshot, sources: ContextSources, opened: dict[str, str], deadline: float
) -> str:
    assert document.path is not None
    # Refresh the tree first so this and later requests (inline ones too) can use it.
    sources.project.tree(sources.roots, deadline)
    head = _head_lines(document.text, 300)
    candidates = imported_paths(
        head, document.language_id, Path(document.path), list(sources.roots.roots)
    )
    parts: list[str] = []
    own = Path(document.path).resolve()
    for candidate in candidates:
        if time.monotonic() > deadline or len(parts) >= _MAX_RELATED_FILES:
            break
        if not sources.roots.contains(candidate) or candidate.resolve() == own:
            continue
        text = opened.get(str(candidate)) or read_text_file(candidate, sources.roots)
        if text:
            parts.append(f"### {sources.roots.relative(candidate)}\n{text}")
    return "\n\n".join(parts)
