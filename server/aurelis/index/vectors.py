"""Embeddings of an index's chunks, for retrieval by meaning beside BM25 (used only when
the user names an embeddings model: docs/retrieval.md).

Vectors are kept by content, a hash of the chunk's (already redacted) text: an edit
re-embeds only the chunks it changed, a restart none. `arrange` makes the current chunks
searchable and drops the vectors of chunks that are gone; `nearest` ranks the chunks by
cosine similarity to a query's vector. Saved beside the index (0600) with the model's
name: vectors of another model are never mixed in.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from aurelis.index.memory import release_free_memory
from aurelis.index.store import open_own_file, write_private_file

__all__ = ["ChunkPlace", "ChunkVectors", "content_key", "vectors_path"]

#: 1: a JSON line (format, model, dimensions, keys), then the float32 rows.
_FORMAT = 1
_MAX_FILE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class ChunkPlace:
    """Where a chunk is: lines [start, end) of `path`, relative to the index's root."""

    path: str
    start: int
    end: int


def content_key(text: str) -> str:
    """The key of a chunk's vector: its text's hash (the same text, the same vector)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def vectors_path(index_file: Path) -> Path:
    """The vectors' file beside an index file."""
    return index_file.with_name(index_file.stem + ".vectors")


class ChunkVectors:
    """The vectors of one index's chunks for one model; thread-safe."""

    def __init__(self, model: str, storage: Path | None = None) -> None:
        self.model = model
        self.storage = storage
        self._lock = threading.Lock()
        self._rows: dict[str, int] = {}  # content key → row of `_matrix`
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._added: dict[str, np.ndarray] = {}  # vectors not yet in `_matrix`
        self._places: list[ChunkPlace] = []
        self._place_rows = np.zeros(0, dtype=np.int64)
        #: Counts the changes of what `nearest` ranks (a caller may keep a ranking till then).
        self.generation = 0

    @property
    def dimensions(self) -> int:
        with self._lock:
            return self._held_width()

    def searchable(self) -> int:
        """How many chunks `nearest` ranks."""
        with self._lock:
            return len(self._places)

    def held(self) -> int:
        """How many chunk texts have a vector (searchable or waiting)."""
        with self._lock:
            return len(self._rows.keys() | self._added.keys())

    def has(self, key: str) -> bool:
        """Whether the chunk text of this content key has a vector."""
        with self._lock:
            return key in self._rows or key in self._added

    def add(self, keys: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Vectors for these keys (normalised here). A vector of another width than the
        ones held means the endpoint's model changed: the old ones are dropped."""
        if len(keys) != len(vectors):
            raise ValueError(f"{len(keys)} keys but {len(vectors)} vectors")
        rows = _normalised(vectors)
        with self._lock:
            if self._held_width() not in (0, rows.shape[1]):
                self._clear()
            for key, row in zip(keys, rows, strict=True):
                self._added[key] = row

    def arrange(self, chunks: Sequence[tuple[ChunkPlace, str]]) -> None:
        """Make these chunks (place, content key) the searchable ones; those without a
        vector yet wait for the next call. Vectors no chunk uses any more are dropped."""
        with self._lock:
            self._rows, self._matrix = self._consolidated({key for _, key in chunks})
            self._added = {}
            kept = [(place, self._rows[key]) for place, key in chunks if key in self._rows]
            self._places = [place for place, _ in kept]
            self._place_rows = np.array([row for _, row in kept], dtype=np.int64)
            self.generation += 1
        # The batches the vectors came in are small allocations glibc would keep: as much
        # again as the matrix, were they not handed back.
        release_free_memory()

    def _consolidated(self, wanted: set[str]) -> tuple[dict[str, int], np.ndarray]:
        """One matrix of the held vectors whose keys are `wanted`, and their rows."""
        keys = sorted(key for key in wanted if key in self._rows or key in self._added)
        matrix = np.zeros((len(keys), self._held_width()), dtype=np.float32)
        for row, key in enumerate(keys):
            added = self._added.get(key)
            matrix[row] = added if added is not None else self._matrix[self._rows[key]]
        return {key: row for row, key in enumerate(keys)}, matrix

    def nearest(
        self, vector: Sequence[float], limit: int, skip: str | None = None
    ) -> list[tuple[ChunkPlace, float]]:
        """The chunks most like `vector` (cosine), best first; none from the file `skip`."""
        with self._lock:
            if not self._places or limit <= 0:
                return []
            query = _normalised([vector])[0]
            if query.shape[0] != self._matrix.shape[1]:
                return []  # a query of another model than the chunks'
            scores = (self._matrix @ query)[self._place_rows]
            order = np.argsort(-scores, kind="stable")
            found: list[tuple[ChunkPlace, float]] = []
            for position in order:
                place = self._places[int(position)]
                if place.path != skip:
                    found.append((place, float(scores[position])))
                    if len(found) == limit:
                        break
            return found

    def save(self) -> None:
        """Write the vectors beside the index (a no-op without storage)."""
        if self.storage is None:
            return
        with self._lock:
            held = {key: self._matrix[row] for key, row in self._rows.items()}
            held.update(self._added)  # not searchable yet, but paid for: kept
            keys = list(held)
            matrix = np.array([held[key] for key in keys], dtype=np.float32).reshape(
                len(keys), _width(held)
            )
        header = {
            "format": _FORMAT,
            "model": self.model,
            "dimensions": int(matrix.shape[1]),
            "keys": keys,
        }

        def write(handle: IO[bytes]) -> None:
            handle.write(json.dumps(header).encode("utf-8") + b"\n")
            handle.write(np.ascontiguousarray(matrix, dtype="<f4").tobytes())

        write_private_file(self.storage, write)

    def load(self) -> None:
        """Take the saved vectors, when they are this model's and whole (else none)."""
        handle = open_own_file(self.storage, _MAX_FILE_BYTES) if self.storage else None
        if handle is None:
            return
        with handle:
            try:
                header = json.loads(handle.readline())
                keys, width = list(header["keys"]), int(header["dimensions"])
                if header.get("format") != _FORMAT or header.get("model") != self.model:
                    return
                data = handle.read()
            except (ValueError, KeyError, TypeError):
                return
        if not keys or len(data) != len(keys) * width * 4:
            return
        matrix = np.frombuffer(data, dtype="<f4").reshape(len(keys), width).astype(np.float32)
        with self._lock:
            self._added = dict(zip(keys, matrix, strict=True))

    def _held_width(self) -> int:
        return self._matrix.shape[1] if self._matrix.size else _width(self._added)

    def _clear(self) -> None:
        self.generation += 1
        self._rows, self._added = {}, {}
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._places, self._place_rows = [], np.zeros(0, dtype=np.int64)


def _width(vectors: dict[str, np.ndarray]) -> int:
    return next(iter(vectors.values())).shape[0] if vectors else 0


def _normalised(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    rows = np.asarray(vectors, dtype=np.float32)
    if rows.ndim != 2 or not np.all(np.isfinite(rows)):
        raise ValueError("vectors must be rows of finite numbers of one width")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)
