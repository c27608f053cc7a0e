"""The redacted text of every chunk, kept in a private file and read back by offset.

A large repository's code would otherwise sit in memory twice (here and as the engine's
terms): an index keeps four numbers a chunk instead, and a snippet is read when a request
asks for it. The file is anonymous: created 0600 in the index's own folder of the user's
cache directory, never the workspace, and unlinked at once, so it leaves with the process.
An index that is never saved (open files only, or no cache directory outside the
workspace) keeps its texts in memory instead: it writes nothing to disk. Texts are only
ever appended; the ones an update replaced are garbage until the index copies what is
live to a fresh store (`copy_live`).
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["ChunkTexts"]

_COPY_BLOCK = 1 << 20


class ChunkTexts:
    """An append-only store of texts, addressed by (offset, length) in bytes."""

    def __init__(self, folder: Path | None = None) -> None:
        """Texts in an anonymous file in `folder`, or in memory when `folder` is None."""
        self._folder = folder
        self._memory: bytearray | None = None
        self._file: BinaryIO | None = None
        if folder is None:
            self._memory = bytearray()
        else:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            # TemporaryFile: O_EXCL, mode 0600, unlinked before it is returned (POSIX).
            self._file = tempfile.TemporaryFile(dir=folder)
            # Closed with the store: a store replaced by a fresh copy goes when the last
            # reader (a save in progress) lets go of it.
            weakref.finalize(self, self._file.close)
        self._append_lock = threading.Lock()
        self.size = 0

    def append(self, text: str) -> tuple[int, int]:
        """Store `text`; its (offset, length) for `read`."""
        data = text.encode("utf-8")
        with self._append_lock:
            offset = self.size
            self._write_all(data, offset)
            self.size += len(data)
        return offset, len(data)

    def read(self, offset: int, length: int) -> str:
        """The text stored at (offset, length), from any thread (positioned reads)."""
        return self._read(offset, length).decode("utf-8", errors="replace")

    def read_bytes(self, spans: Iterable[tuple[int, int]]) -> Iterator[bytes]:
        for offset, length in spans:
            yield self._read(offset, length)

    def append_from(self, source: BinaryIO, length: int) -> int:
        """Copy `length` bytes of `source` (a saved index's texts); the offset they start at."""
        with self._append_lock:
            start = self.size
            while length > 0:
                block = source.read(min(length, _COPY_BLOCK))
                if not block:
                    raise ValueError("the saved texts are shorter than announced")
                self._write_all(block, self.size)
                self.size += len(block)
                length -= len(block)
        return start

    def copy_live(self, spans: Iterable[tuple[int, int]]) -> tuple[ChunkTexts, list[int]]:
        """A fresh store holding these texts alone, and each one's new offset, in order."""
        fresh = ChunkTexts(self._folder)
        offsets = []
        for data in self.read_bytes(spans):
            offsets.append(fresh.size)
            fresh._write_all(data, fresh.size)
            fresh.size += len(data)
        return fresh, offsets

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _read(self, offset: int, length: int) -> bytes:
        if self._memory is not None:
            # A slice is a copy made under the GIL: safe while another thread appends.
            return bytes(self._memory[offset : offset + length])
        return os.pread(self._descriptor(), length, offset)

    def _write_all(self, data: bytes, offset: int) -> None:
        """Write `data` at `offset`, the end of the store (texts are only appended)."""
        if self._memory is not None:
            self._memory += data
            return
        view = memoryview(data)
        while view:
            written = os.pwrite(self._descriptor(), view, offset)
            view, offset = view[written:], offset + written

    def _descriptor(self) -> int:
        if self._file is None:
            raise ValueError("a store in memory has no file")
        return self._file.fileno()
