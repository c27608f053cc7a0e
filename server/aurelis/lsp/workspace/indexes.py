"""The repository index of each workspace root, kept by the language server.

One worker thread does the indexing: the first build of every root at `initialized`
(throttled, at a lower OS priority), files the watcher reports, and edits of open buffers
once the user pauses. A save is indexed at once, on the caller's thread, so the next
request sees it. When the queue stays idle the changed indexes are written to the cache.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # tantivy and tree-sitter load with the first index, not at start-up
    from aurelis.index.repo_index import RepoIndex

__all__ = ["IndexSettings", "WorkspaceIndexes"]

logger = logging.getLogger("aurelis.lsp.index")
_IDLE_SAVE_SECONDS = 5.0
_NICE = 10

_Job = Callable[[], None]


@dataclass(frozen=True)
class IndexSettings:
    """What the user decides about the index (`aurelis.index.*` settings)."""

    enabled: bool = True
    #: Retrieval from open documents only: nothing is read from disk or persisted.
    open_files_only: bool = False
    #: Gitignore-style globs, relative to each root, never indexed nor retrieved.
    exclude: tuple[str, ...] = ()


class WorkspaceIndexes:
    """The index of every workspace root and the thread that keeps them current."""

    def __init__(self, on_built: Callable[[], None] = lambda: None) -> None:
        #: Called from the worker thread when a build finishes (the status shows it).
        self.on_built = on_built
        self.settings = IndexSettings()
        self._indexes: dict[Path, RepoIndex] = {}
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()
        self._generation = 0

    def start(self, roots: Sequence[Path], cache_dir: Path | None, settings: IndexSettings) -> None:
        """(Re)create the indexes of `roots` and queue their builds."""
        self.settings = settings
        self._generation += 1
        self._indexes = {}
        if not settings.enabled:
            return
        from aurelis.index.files import IndexFilter
        from aurelis.index.repo_index import RepoIndex
        from aurelis.index.store import index_path

        keep = IndexFilter(settings.exclude)
        for root in roots:
            if settings.open_files_only:
                # Nothing read from disk, nothing saved: open buffers are fed in as they
                # open and change, and leave when they close.
                self._indexes[root] = RepoIndex(root, None, keep)
                continue
            index = RepoIndex(root, index_path(root, cache_dir), keep)
            self._indexes[root] = index
            self._submit(self._build_job(index, self._generation))

    def adopt(self, index: RepoIndex) -> None:
        """Serve an index built by the caller (the CLI builds it in the foreground)."""
        self._indexes[index.root] = index

    def all(self) -> list[RepoIndex]:
        """The index of every root."""
        return list(self._indexes.values())

    def index_for(self, path: str | Path) -> tuple[RepoIndex, str] | None:
        """The index holding `path` and the path relative to its root, or None."""
        try:
            real = Path(path).resolve()
        except (OSError, RuntimeError):
            return None
        for root in sorted(self._indexes, key=lambda r: len(r.parts), reverse=True):
            if real.is_relative_to(root):
                return self._indexes[root], real.relative_to(root).as_posix()
        return None

    def saved(self, path: str, text: str) -> None:
        """A document was saved: index its text now (the next request must see it)."""
        found = self.index_for(path)
        if found is not None:
            found[0].update(found[1], text)

    def edited(self, path: str, text: str) -> None:
        """An open buffer changed and the user paused: index it in the background."""
        found = self.index_for(path)
        if found is not None:
            index, relative = found
            self._submit(lambda: index.update(relative, text))

    def closed(self, path: str) -> None:
        """A document was closed: with only open files indexed, it leaves the index."""
        found = self.index_for(path) if self.settings.open_files_only else None
        if found is not None:
            index, relative = found
            self._submit(lambda: index.remove(relative))

    def disk_changed(self, path: str) -> None:
        """The watcher says a file was created, changed or deleted."""
        if self.settings.open_files_only:
            return  # the disk is not read in this mode
        found = self.index_for(path)
        if found is not None:
            index, relative = found
            self._submit(lambda: index.refresh(relative))

    def status(self) -> dict[str, Any]:
        """For `aurelis/status`: per root, state, files, chunks, last update, build time."""
        shown: dict[str, Any] = {}
        for root, index in self._indexes.items():
            stats = index.stats()
            shown[str(root)] = {
                "state": stats.state,
                "files": stats.files,
                "chunks": stats.chunks,
                "last_update": stats.last_update,
                "build_seconds": None
                if stats.build_seconds is None
                else round(stats.build_seconds, 2),
            }
        return shown

    def stop(self, within: float = 2.0) -> None:
        """Stop the worker (a running build stops at its next file) and save what changed."""
        self._stopping.set()
        self._jobs.put(None)
        if self._worker is not None:
            self._worker.join(within)
        for index in list(self._indexes.values()):
            self._save(index)

    def _build_job(self, index: RepoIndex, generation: int) -> _Job:
        def build() -> None:
            started = time.perf_counter()
            stale = lambda: self._stopping.is_set() or generation != self._generation  # noqa: E731
            if index.build(stop=stale):
                self.on_built()
                stats = index.stats()
                logger.info(
                    "indexed %s: %d files, %d chunks in %.1f s",
                    index.root, stats.files, stats.chunks, time.perf_counter() - started,
                )  # fmt: skip

        return build

    def _submit(self, job: _Job) -> None:
        if self._stopping.is_set():
            return
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="aurelis-index", daemon=True)
            self._worker.start()
        self._jobs.put(job)

    def _run(self) -> None:
        # Linux gives each thread its own nice value: the editor's requests come first.
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICE)
        while not self._stopping.is_set():
            try:
                job = self._jobs.get(timeout=_IDLE_SAVE_SECONDS)
            except queue.Empty:
                for index in list(self._indexes.values()):
                    self._save(index)
                continue
            if job is None:
                return
            try:
                job()
            except Exception:  # one bad file or build must not end indexing
                logger.warning("indexing failed", exc_info=True)

    @staticmethod
    def _save(index: RepoIndex) -> None:
        try:
            index.save()
        except OSError as error:
            logger.warning("could not save the index of %s: %s", index.root, error.strerror)
