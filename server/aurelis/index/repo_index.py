"""The index of one workspace root: files → chunks and symbols, searchable, persisted.

Built in the background (`build`, throttled), kept current file by file (`update` with an
editor buffer's text, `refresh` from the disk, `remove`), searched at request time
(`search` for BM25 over chunks, `definitions` for names). Every method takes the index's
lock, held for one file's worth of work at a time, so a save is indexed between two files
of a running build. Chunk texts live in a private file (`texts`), read back for the few
snippets a request returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aurelis.index.chunks import Chunk, Symbol, chunk_source
from aurelis.index.engine import SearchEngine
from aurelis.index.files import (
    FileStamp,
    IndexFilter,
    indexable_files,
    is_indexable,
    read_source,
)
from aurelis.index.memory import release_free_memory
from aurelis.index.names import NameTable
from aurelis.index.store import IndexedFile, load_index, save_index
from aurelis.index.texts import ChunkTexts
from aurelis.index.throttle import Throttle

__all__ = ["IndexStats", "RepoIndex", "Snippet"]

_COMMIT_EVERY = 200  # files between commits while building (a commit costs ~10 ms)
_MIN_PREFIX = 3
_DEFINITION_LINES = 24
#: Longest a search waits for an update in progress (seconds).
_LOCK_WAIT = 0.02
#: Replaced texts the text file may hold before it is rewritten (and at least as many as live).
_MIN_GARBAGE_BYTES = 8 * 1024 * 1024


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
        self._texts = ChunkTexts(storage.parent if storage is not None else None)
        self._live_text_bytes = 0
        self._engine = SearchEngine()
        self._names = NameTable()
        self._changes = 0
        self._state = "empty"
        self._last_update: float | None = None
        self._build_seconds: float | None = None
        self._changed_since_save = False

    def stats(self) -> IndexStats:
        with self._lock:
            chunks = sum(entry.chunk_count for entry in self._files.values())
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
            self._adopt(load_index(self.storage, self.root, self._texts))
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
        release_free_memory()
        return True

    def update(self, relative: str, text: str, stamp: FileStamp | None = None) -> None:
        """Index `relative` with this text (an editor buffer's, or the disk's)."""
        if not is_indexable(self.root, relative, self.keep):
            self.remove(relative)
            return
        with self._parse_lock:  # the parsers are not thread-safe
            chunks, symbols = chunk_source(relative, text)
        with self._lock:
            self._put(relative, stamp or FileStamp(0, len(text)), chunks, symbols)
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
            self._put(relative, stamp, chunks, symbols)
            if commit:
                self._commit()

    def remove(self, relative: str, *, commit: bool = True) -> None:
        with self._lock:
            if relative not in self._files:
                return
            self._forget_symbols(relative)
            self._live_text_bytes -= self._files.pop(relative).text_bytes
            self._engine.remove_file(relative)
            self._touched()
            if commit:
                self._commit()

    def save(self) -> None:
        """Write the index to its file when it changed (a no-op for a memory-only index);
        first rewrite the text file if replaced texts fill most of it."""
        self._compact_texts()
        with self._lock:
            if self.storage is None or not self._changed_since_save:
                return
            files, texts = dict(self._files), self._texts
            self._changed_since_save = False
        # Outside the lock: texts are only appended, so the snapshot's offsets stay valid.
        save_index(self.storage, self.root, files, texts)

    def search(self, text: str, limit: int, skip: Collection[str] = ()) -> list[Snippet]:
        """The chunks ranked best for the words of `text`, leaving out files in `skip`."""
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return []  # an update holds the index: this request goes without
        try:
            hits = self._engine.search(text, limit + 4 * len(skip) + 4)
            found = []
            for hit in hits:
                entry = self._files.get(hit.path)
                if hit.path in skip or entry is None or hit.ordinal >= entry.chunk_count:
                    continue
                found.append(self._chunk(hit.path, entry, hit.ordinal))
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
                wanted = self._names.starting_with(prefix) + wanted
            found: list[Snippet] = []
            for name in wanted:
                for path, line in self._places(name):
                    snippet = self._definition_at(path, line)
                    if snippet is not None and snippet not in found:
                        found.append(snippet)
                    if len(found) >= limit:
                        return found
            return found
        finally:
            self._lock.release()

    @property
    def changes(self) -> int:
        """Counts every change to the indexed files (what the embeddings pass follows)."""
        with self._lock:
            return self._changes

    def versions(self) -> dict[str, object]:
        """Each indexed file and a token of its state: the token is another object as soon
        as the file's chunks change (for callers that keep work per file)."""
        with self._lock:
            return dict(self._files)  # entries are replaced on change, never altered

    def file_chunks(self, path: str) -> list[Snippet]:
        """The chunks of `path`, in order ([] when it is not indexed)."""
        with self._lock:
            entry = self._files.get(path)
            if entry is None:
                return []
            return [self._chunk(path, entry, ordinal) for ordinal in range(entry.chunk_count)]

    def chunk_at(self, path: str, start: int, end: int) -> Snippet | None:
        """The chunk of `path` on lines [start, end) if the file still has it."""
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return None
        try:
            entry = self._files.get(path)
            if entry is None:
                return None
            for ordinal in range(entry.chunk_count):
                if entry.chunk_lines(ordinal) == (start, end):
                    return self._chunk(path, entry, ordinal)
            return None
        finally:
            self._lock.release()

    def _chunk(self, path: str, entry: IndexedFile, ordinal: int) -> Snippet:
        start, end = entry.chunk_lines(ordinal)
        return Snippet(path, start, end, self._texts.read(*entry.text_span(ordinal)), "search")

    def _places(self, name: str) -> Iterator[tuple[str, int]]:
        """(path, line) of each definition of `name`."""
        for path in self._names.files_defining(name):
            entry = self._files.get(path)
            for line in entry.lines_of(name) if entry is not None else ():
                yield path, line

    def _definition_at(self, path: str, line: int) -> Snippet | None:
        entry = self._files.get(path)
        ordinal = _chunk_holding(entry, line) if entry else None
        if entry is None or ordinal is None:
            return None
        start, _end = entry.chunk_lines(ordinal)
        text = self._texts.read(*entry.text_span(ordinal))
        lines = text.splitlines(keepends=True)[line - start :][:_DEFINITION_LINES]
        return Snippet(path, line, line + len(lines), "".join(lines), "definition")

    def _adopt(self, files: dict[str, IndexedFile]) -> None:
        """Serve a loaded index: its texts are in the text file already, the engine and the
        name table are fed from there."""
        with self._lock:
            for relative, entry in files.items():
                texts = [self._texts.read(*span) for span in entry.text_spans()]
                self._enter(relative, entry, texts)
            self._commit()
            self._changed_since_save = False
        release_free_memory()

    def _put(
        self, relative: str, stamp: FileStamp, chunks: list[Chunk], symbols: list[Symbol]
    ) -> None:
        entry = IndexedFile.stored(stamp, chunks, symbols, self._texts)
        self._enter(relative, entry, [chunk.text for chunk in chunks])

    def _enter(self, relative: str, entry: IndexedFile, texts: list[str]) -> None:
        """Make `entry` (with its chunks' texts) the indexed state of `relative`."""
        self._forget_symbols(relative)
        old = self._files.get(relative)
        self._live_text_bytes += entry.text_bytes - (old.text_bytes if old else 0)
        self._files[relative] = entry
        self._names.add(relative, entry.names)
        self._engine.replace_file(relative, list(zip(texts, _names_by_chunk(entry), strict=True)))
        self._touched()

    def _forget_symbols(self, relative: str) -> None:
        old = self._files.get(relative)
        if old is not None:
            self._names.remove(relative, old.names)

    def _compact_texts(self) -> None:
        """Copy the live texts to a fresh file when replaced ones outweigh them; the copy is
        made outside the lock and dropped if the index changed meanwhile (next time)."""
        with self._lock:
            garbage = self._texts.size - self._live_text_bytes
            if garbage < max(self._live_text_bytes, _MIN_GARBAGE_BYTES):
                return
            files, texts, changes = dict(self._files), self._texts, self._changes
        spans = (span for entry in files.values() for span in entry.text_spans())
        fresh, offsets = texts.copy_live(spans)
        with self._lock:
            if self._changes != changes:
                fresh.close()
                return
            moved = iter(offsets)
            self._files = {name: entry.moved(moved) for name, entry in files.items()}
            self._texts = fresh

    def _touched(self) -> None:
        self._last_update = time.time()
        self._changed_since_save = True
        self._changes += 1

    def _commit(self) -> None:
        with self._lock:
            self._engine.commit()

    def _set_state(self, state: str) -> None:
        with self._lock:
            self._state = state


def _chunk_holding(entry: IndexedFile, line: int) -> int | None:
    for ordinal in range(entry.chunk_count):
        start, end = entry.chunk_lines(ordinal)
        if start <= line < end:
            return ordinal
    return None


def _names_by_chunk(entry: IndexedFile) -> list[list[str]]:
    """The names each chunk defines (names and chunks are both in line order)."""
    by_chunk: list[list[str]] = [[] for _ in range(entry.chunk_count)]
    ordinal = 0
    for name, line in zip(entry.names, entry.lines, strict=True):
        while ordinal < entry.chunk_count and entry.chunk_lines(ordinal)[1] <= line:
            ordinal += 1
        if ordinal == entry.chunk_count:
            break
        if entry.chunk_lines(ordinal)[0] <= line:
            by_chunk[ordinal].append(name)
    return by_chunk
