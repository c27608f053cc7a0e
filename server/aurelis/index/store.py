"""Where a root's index is kept, and reading and writing it.

One file a workspace root, in the user's cache directory (`cache_dir` when set, else the
platform's), never inside the workspace: a cache directory that would put it there is
refused and the index stays in memory. The file is created 0600 in a 0700 directory,
written whole to a fresh temporary file and renamed over the old one (never through a
link), and read back only if it is ours, regular and well formed: anything else is
rebuilt, not trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from aurelis.index.chunks import Chunk, Symbol
from aurelis.index.files import FileStamp

__all__ = ["FORMAT_VERSION", "IndexedFile", "index_path", "load_index", "save_index"]

FORMAT_VERSION = 1
_MAX_INDEX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class IndexedFile:
    """What the index keeps of one file."""

    stamp: FileStamp
    chunks: tuple[Chunk, ...]
    symbols: tuple[Symbol, ...]


def index_path(root: Path, cache_dir: Path | None) -> Path | None:
    """The index file of `root`, or None when the cache directory is inside the root."""
    folder = (cache_dir or Path(platformdirs.user_cache_dir("aurelis"))) / "index"
    resolved = folder.resolve()
    if resolved == root or resolved.is_relative_to(root):
        return None
    digest = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:32]
    return folder / f"{digest}.json"


def save_index(path: Path, root: Path, files: dict[str, IndexedFile]) -> None:
    """Write the index of `root` to `path`, 0600, replacing the previous one at once."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = {
        "version": FORMAT_VERSION,
        "root": str(root),
        "files": {name: _encode(entry) for name, entry in files.items()},
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        temporary.unlink()  # a leftover of a crashed write by this process id
    except FileNotFoundError:
        pass
    descriptor = os.open(temporary, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_index(path: Path, root: Path) -> dict[str, IndexedFile]:
    """The saved index of `root` ({} when there is none, or it is not ours or is damaged)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return {}
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        owned = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
        if not stat.S_ISREG(info.st_mode) or not owned or info.st_size > _MAX_INDEX_BYTES:
            return {}
        try:
            payload = json.loads(handle.read())
            if payload.get("version") != FORMAT_VERSION or payload.get("root") != str(root):
                return {}
            return {name: _decode(entry) for name, entry in payload["files"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}


def _encode(entry: IndexedFile) -> dict[str, Any]:
    return {
        "stamp": [entry.stamp.mtime_ns, entry.stamp.size],
        "chunks": [[chunk.start, chunk.end, chunk.text] for chunk in entry.chunks],
        "symbols": [[symbol.name, symbol.kind, symbol.line] for symbol in entry.symbols],
    }


def _decode(entry: dict[str, Any]) -> IndexedFile:
    mtime_ns, size = entry["stamp"]
    return IndexedFile(
        FileStamp(int(mtime_ns), int(size)),
        tuple(Chunk(int(start), int(end), str(text)) for start, end, text in entry["chunks"]),
        tuple(Symbol(str(name), str(kind), int(line)) for name, kind, line in entry["symbols"]),
    )
