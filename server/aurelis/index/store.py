"""Where a root's index is kept, and reading and writing it.

One file a workspace root, in the user's cache directory (`cache_dir` when set, else the
platform's), never inside the workspace: a cache directory that would put it there is
refused and the index stays in memory. The file is created 0600 in a 0700 directory,
written whole to a fresh temporary file and renamed over the old one (never through a
link), and read back only if it is ours, regular and well formed: anything else is
rebuilt, not trusted.

The file (still named `.json`, where version 1 was all JSON) is one line of JSON (version,
root, and per file its stamp, chunk lines, text lengths and defined names) followed by the
chunks' redacted texts, in the same order: a load parses the small part and copies the
texts, unread, into the index's text store.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import platformdirs

from aurelis.index.chunks import Chunk, Symbol
from aurelis.index.files import FileStamp
from aurelis.index.texts import ChunkTexts

__all__ = [
    "FORMAT_VERSION",
    "IndexedFile",
    "index_path",
    "load_index",
    "open_own_file",
    "save_index",
    "write_private_file",
]

#: 2: texts after a JSON line (1 was all JSON, the texts inside): version 1 is rebuilt.
FORMAT_VERSION = 2
_MAX_INDEX_BYTES = 512 * 1024 * 1024
_SPAN = 4  # numbers a chunk: start line, end line, text offset, text length
_SPANS = "q"  # text offsets can pass 4 GB in a long session's text file
_LINES = "I"


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """What the index keeps of one file, compactly (a large repository has ~10 chunks and
    ~15 names a file): where each chunk's lines and text are, the names it defines."""

    stamp: FileStamp
    #: start line, end line (0-based, exclusive), text offset and length of each chunk.
    spans: array[int]
    #: `names[i]` is defined at line `lines[i]` (0-based), in line order.
    names: tuple[str, ...]
    lines: array[int]

    @classmethod
    def stored(
        cls, stamp: FileStamp, chunks: Sequence[Chunk], symbols: Iterable[Symbol], texts: ChunkTexts
    ) -> IndexedFile:
        """The entry of a freshly chunked file, its chunks' texts appended to `texts`."""
        spans: list[int] = []
        for chunk in chunks:
            spans.extend((chunk.start, chunk.end, *texts.append(chunk.text)))
        symbol_list = list(symbols)
        # Interned: the same name is a key of the index's name table and in many files.
        names = tuple(sys.intern(symbol.name) for symbol in symbol_list)
        lines = array(_LINES, [symbol.line for symbol in symbol_list])
        # Arrays made from lists are allocated at their size; grown ones are not.
        return cls(stamp, array(_SPANS, spans), names, lines)

    @property
    def chunk_count(self) -> int:
        return len(self.spans) // _SPAN

    @property
    def chunks(self) -> tuple[tuple[int, int], ...]:
        """The lines [start, end) of each chunk (what `aurelis doctor` counts)."""
        return tuple(self.chunk_lines(ordinal) for ordinal in range(self.chunk_count))

    @property
    def text_bytes(self) -> int:
        return sum(self.spans[3::_SPAN])

    def chunk_lines(self, ordinal: int) -> tuple[int, int]:
        return self.spans[ordinal * _SPAN], self.spans[ordinal * _SPAN + 1]

    def text_span(self, ordinal: int) -> tuple[int, int]:
        return self.spans[ordinal * _SPAN + 2], self.spans[ordinal * _SPAN + 3]

    def text_spans(self) -> Iterator[tuple[int, int]]:
        return zip(self.spans[2::_SPAN], self.spans[3::_SPAN], strict=True)

    def lines_of(self, name: str) -> list[int]:
        return [
            line for defined, line in zip(self.names, self.lines, strict=True) if defined == name
        ]

    def moved(self, offsets: Iterator[int]) -> IndexedFile:
        """This entry with its texts at new offsets (taken in chunk order)."""
        spans = array(_SPANS, self.spans)
        for ordinal in range(self.chunk_count):
            spans[ordinal * _SPAN + 2] = next(offsets)
        return IndexedFile(self.stamp, spans, self.names, self.lines)


def index_path(root: Path, cache_dir: Path | None) -> Path | None:
    """The index file of `root`, or None when the cache directory is inside the root."""
    folder = (cache_dir or Path(platformdirs.user_cache_dir("aurelis"))) / "index"
    resolved = folder.resolve()
    if resolved == root or resolved.is_relative_to(root):
        return None
    digest = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:32]
    return folder / f"{digest}.json"


def save_index(path: Path, root: Path, files: dict[str, IndexedFile], texts: ChunkTexts) -> None:
    """Write the index of `root` to `path`, 0600, replacing the previous one at once."""

    def write(handle: IO[bytes]) -> None:
        _write_header(handle, root, files)
        for entry in files.values():
            for data in texts.read_bytes(entry.text_spans()):
                handle.write(data)

    write_private_file(path, write)


def write_private_file(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write `path` (0600, in a 0700 folder) through a temporary file that replaces it at
    once: a reader never sees half a file, a crash leaves the old one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        temporary.unlink()  # a leftover of a crashed write by this process id
    except FileNotFoundError:
        pass
    descriptor = os.open(temporary, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def open_own_file(path: Path, max_bytes: int) -> BinaryIO | None:
    """`path` opened for reading when it is a regular file of this user within `max_bytes`
    (a link, another user's file or an oversized one is not ours to read), else None."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    handle = os.fdopen(descriptor, "rb")
    info = os.fstat(handle.fileno())
    owned = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
    if not stat.S_ISREG(info.st_mode) or not owned or info.st_size > max_bytes:
        handle.close()
        return None
    return handle


def load_index(path: Path, root: Path, texts: ChunkTexts | None = None) -> dict[str, IndexedFile]:
    """The saved index of `root` ({} when there is none, or it is not ours or is damaged);
    its texts are copied into `texts` (without `texts`, only what it holds is read)."""
    handle = open_own_file(path, _MAX_INDEX_BYTES)
    if handle is None:
        return {}
    with handle:
        info = os.fstat(handle.fileno())
        try:
            header = handle.readline()
            payload = json.loads(header)
            if payload.get("version") != FORMAT_VERSION or payload.get("root") != str(root):
                return {}
            files, total = _decode_files(payload["files"])
            if total > info.st_size - len(header):
                return {}
            start = texts.append_from(handle, total) if texts is not None else 0
        except (ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError):
            return {}
    return files if start == 0 else _shifted(files, start)


def _write_header(handle: IO[bytes], root: Path, files: dict[str, IndexedFile]) -> None:
    """One line of JSON, written a file at a time (JSON escapes every newline)."""
    handle.write(f'{{"version":{FORMAT_VERSION},"root":{json.dumps(str(root))},"files":{{'.encode())
    for number, (name, entry) in enumerate(files.items()):
        encoded = json.dumps(_encode(entry), separators=(",", ":"))
        handle.write(f"{',' if number else ''}{json.dumps(name)}:{encoded}".encode())
    handle.write(b"}}\n")


def _encode(entry: IndexedFile) -> dict[str, Any]:
    chunks: list[int] = []
    for ordinal in range(entry.chunk_count):
        chunks.extend((*entry.chunk_lines(ordinal), entry.text_span(ordinal)[1]))
    return {
        "stamp": [entry.stamp.mtime_ns, entry.stamp.size],
        "chunks": chunks,  # start, end, text length of each chunk
        "names": list(entry.names),
        "lines": list(entry.lines),
    }


def _decode_files(encoded: dict[str, Any]) -> tuple[dict[str, IndexedFile], int]:
    """The entries, their texts at offsets from 0 in file order, and the texts' length."""
    files = {}
    offset = 0
    for name, entry in encoded.items():
        mtime_ns, size = entry["stamp"]
        flat = [int(number) for number in entry["chunks"]]
        if len(flat) % 3:
            raise ValueError("chunks come in threes")
        spans: list[int] = []
        for at in range(0, len(flat), 3):
            start, end, length = flat[at : at + 3]
            if length < 0:
                raise ValueError("a negative text length")
            spans.extend((start, end, offset, length))
            offset += length
        names = tuple(sys.intern(str(defined)) for defined in entry["names"])
        lines = array(_LINES, [int(line) for line in entry["lines"]])
        if len(names) != len(lines):
            raise ValueError("names and lines differ in number")
        stamp = FileStamp(int(mtime_ns), int(size))
        files[str(name)] = IndexedFile(stamp, array(_SPANS, spans), names, lines)
    return files, offset


def _shifted(files: dict[str, IndexedFile], start: int) -> dict[str, IndexedFile]:
    return {
        name: entry.moved(offset + start for offset, _length in entry.text_spans())
        for name, entry in files.items()
    }
