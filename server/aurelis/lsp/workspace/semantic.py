"""Retrieval by meaning beside BM25: each index's chunks embedded by the endpoint's
embeddings route, ranked against the code around the cursor, and fused with BM25's ranking
(`retrieval.fused`, reciprocal rank fusion as Tabby does it).

Off unless the user names an embeddings model (`retrieval_embeddings_model`), because it
sends every indexed chunk (redacted, as the index holds it) to the configured endpoint
once, and the code around the cursor with each code action and each new line of inline
completion. The chunks are embedded in the
background after each index build and after edits, in small batches with pauses (the
endpoint is shared with the user's own requests); a failing endpoint pauses the pass, the
status says why, and actions go on with BM25 alone. Inline completions to chat models
cannot wait for a round trip: they use the embedding of the lines before the cursor's
line once it is known, and ask for it in the background until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from aurelis.core.exceptions import AurelisError, ModelError
from aurelis.core.secrets import redact
from aurelis.lsp.workspace.indexes import WorkspaceIndexes
from aurelis.lsp.workspace.retrieval import query_at

if TYPE_CHECKING:  # numpy and the index load with the first pass, not at start-up
    from aurelis.core.config import AurelisConfig
    from aurelis.index.repo_index import RepoIndex, Snippet
    from aurelis.index.vectors import ChunkPlace, ChunkVectors

__all__ = ["Embedder", "SemanticRetrieval", "embeddings_route"]

logger = logging.getLogger("aurelis.lsp.index")

_BATCH = 16
#: Seconds between two batches, between two looks for changes, and after a failure.
_PAUSE = 0.2
_POLL = 2.0
_RETRY_AFTER = 60.0
#: Batches between two points where what is embedded so far becomes searchable.
_ARRANGE_EVERY = 32
#: Chunks embedded per index at most (an embeddings route bills per token).
MAX_CHUNKS = 50_000
_HITS = 6
#: A chunk's head is what is embedded: routes refuse inputs past their window (8,191 tokens
#: at OpenAI, the context size of a llama.cpp server: ~3,300 gemma tokens here).
_MAX_TEXT_CHARS = 6000
_REFUSED_INPUT = frozenset({400, 413, 422})
_QUERIES_KEPT = 64


class Embedder(Protocol):
    """An embeddings route (`models.providers.embeddings.EndpointEmbeddings`)."""

    async def embed(self, texts: list[str]) -> list[list[float]]: ...
    async def close(self) -> None: ...


def embeddings_route(config: AurelisConfig, indexing: bool) -> tuple[str | None, Embedder | None]:
    """The embeddings model the user named and a client for its route, or (None, None)
    when none is named, nothing is indexed or no remote endpoint may be used."""
    model = config.retrieval_embeddings_model
    if not model or not indexing or not config.remote_enabled:
        return None, None
    from aurelis.models.providers.embeddings import EndpointEmbeddings

    token = config.token.get_secret_value() if config.token is not None else None
    client = EndpointEmbeddings(
        config.endpoint,
        token,
        model,
        connect_timeout=config.connect_timeout,
        read_timeout=config.request_timeout,
    )
    return model, client


class SemanticRetrieval:
    """The chunk vectors of every index of `indexes`, kept current in the background."""

    def __init__(self, indexes: WorkspaceIndexes) -> None:
        self._indexes = indexes
        self._embedder: Embedder | None = None
        self.model: str | None = None
        self._vectors: dict[Path, ChunkVectors] = {}
        self._synced: dict[Path, int] = {}
        self._queries: OrderedDict[str, list[float]] = OrderedDict()
        self._asking: set[str] = set()
        self._refused: set[str] = set()  # content keys of texts the route refused
        self._keyed: dict[Path, _KeyedFiles] = {}
        self._last_found: tuple[tuple[object, ...], list[Snippet]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._errands: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs
        #: Why the last pass stopped, for the status (None: it did not fail).
        self.error: str | None = None
        #: Called after a pass changed what is searchable (the status shows it).
        self.on_synced: Callable[[], None] = lambda: None

    @property
    def enabled(self) -> bool:
        return self._embedder is not None

    def start(self, model: str | None, embedder: Embedder | None) -> None:
        """Embed with `embedder` from now on (None: off), kept current in the background;
        drops what another model made."""
        if self._task is not None:
            self._task.cancel()
        self.use(model, embedder)
        if self._embedder is not None:
            self._task = asyncio.get_running_loop().create_task(self._keep_current())

    def use(self, model: str | None, embedder: Embedder | None) -> None:
        """Embed with `embedder` (None: off), without a background pass (`embed_all`)."""
        old = self._embedder
        if old is not None and old is not embedder:
            self._spawn(old.close())
        self._embedder, self.model = (embedder, model) if model else (None, None)
        self._vectors, self._synced, self._queries, self.error = {}, {}, OrderedDict(), None
        self._refused, self._keyed = set(), {}

    async def embed_all(self) -> None:
        """Embed what every index holds now, in the foreground (`aurelis eval`); the
        route's errors are raised."""
        for index in self._indexes.all():
            await self._embed_changes(index)

    async def warm(self, path: str | None, text: str, offset: int) -> None:
        """Embed now what `hits_if_known` would ask for in the background: the state of an
        inline request after the first on its line (`aurelis eval`)."""
        if self._target(path) is not None:
            with contextlib.suppress(AurelisError, ValueError):
                await self._query_vector(query_at(text, offset).before_line)

    async def stop(self) -> None:
        """Stop the background pass and close the route; what is embedded is saved."""
        for task in [self._task, *self._errands]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for vectors in list(self._vectors.values()):
            await asyncio.to_thread(vectors.save)
        if self._embedder is not None:
            await self._embedder.close()
        self._embedder = None

    def status(self) -> dict[str, Any] | None:
        """For `aurelis/status`: the model, chunks searchable per root, the last failure."""
        if not self.enabled:
            return None
        return {
            "model": self.model,
            "chunks": {str(root): vectors.searchable() for root, vectors in self._vectors.items()},
            "error": self.error,
        }

    async def hits(self, path: str | None, text: str, offset: int, within: float) -> list[Snippet]:
        """The chunks most like the code around `offset` of `text` (the document at
        `path`), never from that file; [] when off, not ready, or past `within` seconds."""
        if (target := self._target(path)) is None:
            return []
        try:
            vector = await asyncio.wait_for(self._query_vector(query_at(text, offset).text), within)
        except (TimeoutError, AurelisError, ValueError):
            return []  # this request goes with BM25 alone
        return _nearest_chunks(*target, vector)

    def hits_if_known(self, path: str | None, text: str, offset: int) -> list[Snippet]:
        """For inline completions, which cannot wait for a round trip: the chunks most like
        the lines before the cursor's line (they stay the same while it is typed) when
        their embedding is known; else none, and the embedding is asked for in the
        background, so the next request on this line has it."""
        if (target := self._target(path)) is None:
            return []
        query = redact(query_at(text, offset).before_line)
        vector = self._queries.get(query)
        if vector is None:
            if query.strip():
                self._ask_in_background(query)
            return []
        # Every keystroke on the line asks the same: the ranking is kept until it changes.
        key = (target[0].root, target[1], query, target[2].generation)
        if self._last_found is None or self._last_found[0] != key:
            self._last_found = (key, _nearest_chunks(*target, vector))
        return self._last_found[1]

    def _target(self, path: str | None) -> tuple[RepoIndex, str, ChunkVectors] | None:
        """The index holding `path`, the path in it and its vectors, once searchable."""
        found = self._indexes.index_for(path) if self.enabled and path else None
        vectors = self._vectors.get(found[0].root) if found else None
        if found is None or vectors is None or not vectors.searchable():
            return None
        return found[0], found[1], vectors

    def _ask_in_background(self, query: str) -> None:
        if query in self._asking:
            return
        self._asking.add(query)

        async def ask() -> None:
            try:
                await self._query_vector(query)
            except (AurelisError, ValueError):
                pass  # the requests on this line go with BM25 alone
            finally:
                self._asking.discard(query)

        self._spawn(ask())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._errands.add(task)
        task.add_done_callback(self._errands.discard)

    async def _query_vector(self, query: str) -> list[float]:
        query = redact(query)  # the same text as the key `hits_if_known` looks up
        known = self._queries.get(query)
        if known is not None:
            self._queries.move_to_end(query)
            return known
        assert self._embedder is not None
        (vector,) = await self._embedder.embed([query])
        self._queries[query] = vector
        if len(self._queries) > _QUERIES_KEPT:
            self._queries.popitem(last=False)
        return vector

    async def _keep_current(self) -> None:
        while True:
            for index in self._indexes.all():
                # The cheap test first: `stats` walks every file under the index's lock.
                if self._synced.get(index.root) != index.changes and index.stats().state == "ready":
                    await self._pass_or_pause(index)
            await asyncio.sleep(_POLL)

    async def _pass_or_pause(self, index: RepoIndex) -> None:
        """One pass over `index`; after a failure the status says why, and the next pass
        waits a minute (the endpoint may be down, or refusing this model)."""
        try:
            await self._embed_changes(index)
            self.error = None
            return
        except (AurelisError, ValueError) as error:
            why = str(error)
        except Exception as error:  # a bug must not end the pass for good
            logger.exception("embeddings failed for %s", index.root)
            why = f"{type(error).__name__}: {error}"
        self.error = redact(why)
        logger.warning("embeddings paused for %s: %s", index.root, self.error)
        self.on_synced()
        await asyncio.sleep(_RETRY_AFTER)

    async def _embed_changes(self, index: RepoIndex) -> None:
        """Embed the chunks of `index` that have no vector yet, then make them searchable."""
        changes = index.changes
        vectors = await self._vectors_of(index)
        known = self._keyed.setdefault(index.root, {})
        chunks, texts = await asyncio.to_thread(_plan, index, vectors, self._refused, known)
        pending = list(texts.items())
        for number, start in enumerate(range(0, len(pending), _BATCH), 1):
            await self._embed_batch(vectors, pending[start : start + _BATCH])
            if number % _ARRANGE_EVERY == 0:
                await asyncio.to_thread(vectors.arrange, chunks)
            await asyncio.sleep(_PAUSE)
        await asyncio.to_thread(vectors.arrange, chunks)
        await asyncio.to_thread(vectors.save)
        self._synced[index.root] = changes
        self.on_synced()

    async def _embed_batch(self, vectors: ChunkVectors, batch: list[tuple[str, str]]) -> None:
        """Embed (key, text) pairs. An input the route refuses (400, 413, 422: too long,
        or not text to it) costs only that chunk its vector: the batch is sent again one
        text a request, and a text refused alone is left out from then on."""
        assert self._embedder is not None
        try:
            vectors.add(
                [key for key, _ in batch], await self._embedder.embed([t for _, t in batch])
            )
        except ModelError as error:
            if error.status_code not in _REFUSED_INPUT:
                raise
            if len(batch) > 1:
                for pair in batch:
                    await self._embed_batch(vectors, [pair])
                return
            self._refused.add(batch[0][0])
            logger.warning("embeddings: a chunk was refused, it goes without: %s", error)

    async def _vectors_of(self, index: RepoIndex) -> ChunkVectors:
        vectors = self._vectors.get(index.root)
        if vectors is None:
            from aurelis.index.vectors import ChunkVectors, vectors_path

            assert self.model is not None
            storage = vectors_path(index.storage) if index.storage is not None else None
            vectors = ChunkVectors(self.model, storage)
            await asyncio.to_thread(vectors.load)
            self._vectors[index.root] = vectors
        return vectors


def _nearest_chunks(
    index: RepoIndex, relative: str, vectors: ChunkVectors, vector: list[float]
) -> list[Snippet]:
    """The chunks of `index` nearest `vector`, none from `relative` (the prompt's own file)."""
    places = vectors.nearest(vector, _HITS, skip=relative)
    chunks = (index.chunk_at(place.path, place.start, place.end) for place, _ in places)
    return [chunk for chunk in chunks if chunk is not None]


#: Per file of an index: its version (`RepoIndex.versions`) and its chunks' places and keys.
_KeyedFiles = dict[str, tuple[object, list[tuple["ChunkPlace", str]]]]


def _plan(
    index: RepoIndex, vectors: ChunkVectors, refused: set[str], known: _KeyedFiles
) -> tuple[list[tuple[ChunkPlace, str]], dict[str, str]]:
    """The chunks of `index` (place, content key), at most `MAX_CHUNKS`, and the texts to
    embed: of those without a vector and not refused before, by key (one text is embedded
    once), cut to `_MAX_TEXT_CHARS`. `known` keeps the keys of each file's version: a
    file read and hashed once is not again until it changes (a pass follows every save)."""
    versions = index.versions()
    for gone in known.keys() - versions.keys():
        del known[gone]
    chunks: list[tuple[ChunkPlace, str]] = []
    texts: dict[str, str] = {}
    for path, version in versions.items():
        kept = known.get(path)
        waiting = kept is not None and any(_wanted(key, vectors, refused) for _, key in kept[1])
        if kept is None or kept[0] is not version or waiting:
            kept = known[path] = (version, _keyed(index.file_chunks(path), vectors, refused, texts))
        chunks += kept[1][: MAX_CHUNKS - len(chunks)]
        if len(chunks) == MAX_CHUNKS:
            break
    return chunks, texts


def _keyed(
    found: list[Snippet], vectors: ChunkVectors, refused: set[str], texts: dict[str, str]
) -> list[tuple[ChunkPlace, str]]:
    """The places and keys of a file's chunks; the texts still to embed go into `texts`."""
    from aurelis.index.vectors import ChunkPlace, content_key

    keyed = []
    for chunk in found:
        if not chunk.text.strip():
            continue
        key = content_key(chunk.text)
        keyed.append((ChunkPlace(chunk.path, chunk.start, chunk.end), key))
        if key not in texts and _wanted(key, vectors, refused):
            texts[key] = chunk.text[:_MAX_TEXT_CHARS]  # only these are held: there are many
    return keyed


def _wanted(key: str, vectors: ChunkVectors, refused: set[str]) -> bool:
    return key not in refused and not vectors.has(key)
