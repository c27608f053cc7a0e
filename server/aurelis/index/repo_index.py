"""The index of one workspace root: files → chunks and symbols, searchable, persisted.

Built in the background (`build`, throttled), kept current file by file (`update` with an
editor buffer's text, `refresh` from the disk, `remove`), searched at request time
(`search` for BM25 over chunks, `definitions` for names). Every method takes the index's
lock, held for one file's worth of work at a time, so a save is indexed between two files
of a running build.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from aurelis.index.chunks import Chunk, chunk_source
from aurelis.index.engine import SearchEngine
from aurelis.index.files import (
    FileStamp,
    IndexFilter,
    indexable_files,
    is_indexable,
    read_source,
)
from aurelis.index.store import IndexedFile, load_index, save_index
from aurelis.index.throttle import Throttle

__all__ = ["IndexStats", "RepoIndex", "Snippet"]

_COMMIT_EVERY = 200  # files between commits while building (a commit costs ~10 ms)
_MIN_PREFIX = 3
_DEFINITION_LINES = 24
#: Longest a search waits for an update in progress (seconds).
_LOCK_WAIT = 0.02


@dataclass(frozen=True)
class Snippet:
    """Code the index returns: lines [start, end) of `path` (0-based), already redacted."""

    path: str
    start: int
    end: int
    text: str
    source: str  # "definition" or "search"


@dataclass(frozen=True)
class IndexStats:
    state: str  # "empty", "loading", "building", "ready", "failed"
    files: int
    chunks: int
    last_update: float | None  # time.time() of the last change
    build_seconds: float | None
    persisted: bool


class RepoIndex:
    """The index of `root` (resolved), saved at `storage` (None: memory only)."""

    def __init__(self, root: Path, storage: Path | None, keep: IndexFilter | None = None) -> None:
        self.root = root
        self.storage = storage
        self.keep = keep or IndexFilter()
        # Data and parsing have locks of their own: a search waits for one file's
        # bookkeeping at most, never for a parse.
        self._lock = threading.RLock()
        self._parse_lock = threading.Lock()
        self._files: dict[str, IndexedFile] = {}
        self._engine = SearchEngine()
        self._symbols: dict[str, list[tuple[str, int]]] = {}
        self._names: list[str] | None = None
        self._state = "empty"
        self._last_update: float | None = None
        self._build_seconds: float | None = None
        self._changed_since_save = False

    def stats(self) -> IndexStats:
        with self._lock:
            chunks = sum(len(entry.chunks) for entry in self._files.values())
            return IndexStats(
                self._state, len(self._files), chunks, self._last_update,
                self._build_seconds, self.storage is not None,
            )  # fmt: skip

    def build(
        self, stop: Callable[[], bool] = lambda: False, throttle: Throttle | None = None
    ) -> bool:
        """Load the saved index, then bring it up to date with the disk; False if stopped."""
        started = time.perf_counter()
        throttle = throttle or Throttle()
        self._set_state("loading")
        if self.storage is not None and not self._files:
            self._adopt(load_index(self.storage, self.root))
        self._set_state("building")
        seen: set[str] = set()
        pending = 0
        for relative, stamp in indexable_files(self.root, self.keep):
            if stop():
                return False
            seen.add(relative)
            known = self._files.get(relative)
            if known is None or known.stamp != stamp:
                self.refresh(relative, commit=False)
                pending += 1
                if pending % _COMMIT_EVERY == 0:
                    self._commit()
            throttle.tick()
        for relative in set(self._files) - seen:
            self.remove(relative, commit=False)
        self._commit()
        self._build_seconds = time.perf_counter() - started
        self._set_state("ready")
        self.save()
        return True

    def update(self, relative: str, text: str, stamp: FileStamp | None = None) -> None:
        """Index `relative` with this text (an editor buffer's, or the disk's)."""
        if not is_indexable(self.root, relative, self.keep):
            self.remove(relative)
            return
        with self._parse_lock:  # the parsers are not thread-safe
            chunks, symbols = chunk_source(relative, text)
        entry = IndexedFile(stamp or FileStamp(0, len(text)), tuple(chunks), tuple(symbols))
        with self._lock:
            self._put(relative, entry)
            self._commit()

    def refresh(self, relative: str, *, commit: bool = True) -> None:
        """Index `relative` as it is on disk (removed when it is gone or not indexable)."""
        allowed = is_indexable(self.root, relative, self.keep)
        read = read_source(self.root, relative) if allowed else None
        if read is None:
            self.remove(relative, commit=commit)
            return
        text, stamp = read
        with self._parse_lock:
            chunks, symbols = chunk_source(relative, text)
        with self._lock:
            self._put(relative, IndexedFile(stamp, tuple(chunks), tuple(symbols)))
            if commit:
                self._commit()

    def remove(self, relative: str, *, commit: bool = True) -> None:
        with self._lock:
            if relative not in self._files:
                return
            self._forget_symbols(relative)
            del self._files[relative]
            self._engine.remove_file(relative)
            self._touched()
            if commit:
                self._commit()

    def save(self) -> None:
        """Write the index to its file when it changed (a no-op for a memory-only index)."""
        with self._lock:
            if self.storage is None or not self._changed_since_save:
                return
            files = dict(self._files)
            self._changed_since_save = False
        save_index(self.storage, self.root, files)

    def search(self, text: str, limit: int, skip: Collection[str] = ()) -> list[Snippet]:
        """The chunks ranked best for the words of `text`, leaving out files in `skip`."""
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return []  # an update holds the index: this request goes without
        try:
            hits = self._engine.search(text, limit + 4 * len(skip) + 4)
            found = []
            for hit in hits:
                entry = self._files.get(hit.path)
                if hit.path in skip or entry is None or hit.ordinal >= len(entry.chunks):
                    continue
                chunk = entry.chunks[hit.ordinal]
                found.append(Snippet(hit.path, chunk.start, chunk.end, chunk.text, "search"))
                if len(found) == limit:
                    break
            return found
        finally:
            self._lock.release()

    def definitions(self, names: Iterable[str], prefix: str = "", limit: int = 8) -> list[Snippet]:
        """Where `names` (exactly) and names starting with `prefix` are defined."""
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return []
        try:
            wanted = list(dict.fromkeys(names))
            if len(prefix) >= _MIN_PREFIX:
                wanted = self._starting_with(prefix) + wanted
            found: list[Snippet] = []
            for name in wanted:
                for path, line in self._symbols.get(name, ()):
                    snippet = self._definition_at(path, line)
                    if snippet is not None and snippet not in found:
                        found.append(snippet)
                    if len(found) >= limit:
                        return found
            return found
        finally:
            self._lock.release()

    def _starting_with(self, prefix: str) -> list[str]:
        if self._names is None:
            self._names = sorted(self._symbols)
        start = bisect.bisect_left(self._names, prefix)
        matches = []
        for name in self._names[start : start + 16]:
            if not name.startswith(prefix):
                break
            if name != prefix:
                matches.append(name)
        return matches

    def _definition_at(self, path: str, line: int) -> Snippet | None:
        entry = self._files.get(path)
        chunk = _chunk_holding(entry.chunks, line) if entry else None
        if chunk is None:
            return None
        lines = chunk.text.splitlines(keepends=True)[line - chunk.start :][:_DEFINITION_LINES]
        return Snippet(path, line, line + len(lines), "".join(lines), "definition")

    def _adopt(self, files: dict[str, IndexedFile]) -> None:
        with self._lock:
            for relative, entry in files.items():
                self._put(relative, entry)
            self._commit()
            self._changed_since_save = False

    def _put(self, relative: str, entry: IndexedFile) -> None:
        self._forget_symbols(relative)
        self._files[relative] = entry
        names_by_chunk: list[list[str]] = [[] for _ in entry.chunks]
        for symbol in entry.symbols:
            if symbol.name not in self._symbols and self._names is not None:
                bisect.insort(self._names, symbol.name)
            self._symbols.setdefault(symbol.name, []).append((relative, symbol.line))
            for ordinal, chunk in enumerate(entry.chunks):
                if chunk.start <= symbol.line < chunk.end:
                    names_by_chunk[ordinal].append(symbol.name)
        self._engine.replace_file(
            relative,
            [
                (chunk.text, names)
                for chunk, names in zip(entry.chunks, names_by_chunk, strict=True)
            ],
        )
        self._touched()

    def _forget_symbols(self, relative: str) -> None:
        old = self._files.get(relative)
        if old is None:
            return
        for symbol in old.symbols:
            places = self._symbols.get(symbol.name)
            if places is not None:
                places[:] = [place for place in places if place[0] != relative]
                if not places:
                    del self._symbols[symbol.name]
                    self._drop_name(symbol.name)

    def _drop_name(self, name: str) -> None:
        if self._names is None:
            return
        at = bisect.bisect_left(self._names, name)
        if at < len(self._names) and self._names[at] == name:
            del self._names[at]

    def _touched(self) -> None:
        self._last_update = time.time()
        self._changed_since_save = True

    def _commit(self) -> None:
        with self._lock:
            self._engine.commit()

    def _set_state(self, state: str) -> None:
        with self._lock:
            self._state = state


def _chunk_holding(chunks: tuple[Chunk, ...], line: int) -> Chunk | None:
    for chunk in chunks:
        if chunk.start <= line < chunk.end:
            return chunk
    return None
