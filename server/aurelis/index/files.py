"""The files of a workspace root worth indexing, and their text.

Left out: what git ignores, secret files by name (`.env`, keys, credentials), symbolic
links (a link may point out of the workspace), binaries, undecodable text, huge files
(generated code and data say little about how the project is written), and globs the
user excluded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aurelis.core.secrets import is_secret_file
from aurelis.index.ignore import IgnoreSpecs, directory_specs, is_ignored, is_probably_binary

if TYPE_CHECKING:
    import pathspec

__all__ = [
    "MAX_INDEXED_BYTES",
    "FileStamp",
    "IndexFilter",
    "indexable_files",
    "is_indexable",
    "read_source",
    "scan_directory",
]

#: Files larger than this are not indexed.
MAX_INDEXED_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What says a file changed since it was indexed, without reading it."""

    mtime_ns: int
    size: int


class IndexFilter:
    """The user's exclusions (gitignore-style globs, relative to the root)."""

    def __init__(self, exclude: Sequence[str] = ()) -> None:
        self.exclude = tuple(exclude)
        self._spec: pathspec.GitIgnoreSpec | None = None
        if self.exclude:
            import pathspec

            self._spec = pathspec.GitIgnoreSpec.from_lines(self.exclude)

    def excludes(self, relative: str) -> bool:
        if is_secret_file(relative):
            return True
        return self._spec is not None and self._spec.match_file(relative)


def indexable_files(root: Path, keep: IndexFilter) -> Iterator[tuple[str, FileStamp]]:
    """(root-relative posix path, stamp) of every file to index, depth first, sorted."""
    stack: list[tuple[Path, IgnoreSpecs]] = [(root, [])]
    while stack:
        directory, inherited = stack.pop()
        specs = inherited + directory_specs(directory)
        subdirectories = []
        for entry in scan_directory(directory):
            path = Path(entry.path)
            if entry.is_symlink():
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_ignored(path, root, is_dir, specs):
                continue
            if is_dir:
                subdirectories.append((path, specs))
                continue
            relative = path.relative_to(root).as_posix()
            stamp = _stamp(entry)
            if stamp is not None and not keep.excludes(relative):
                yield relative, stamp
        stack.extend(reversed(subdirectories))


def is_indexable(root: Path, relative: str, keep: IndexFilter) -> bool:
    """Whether the walk would index `relative` (saved or reported files are checked here)."""
    if keep.excludes(relative):
        return False
    path = root / relative
    parts = Path(relative).parts
    specs: IgnoreSpecs = []
    directory = root
    for depth, part in enumerate(parts):
        specs = specs + directory_specs(directory)
        child = directory / part
        is_dir = depth < len(parts) - 1
        if child.is_symlink() or is_ignored(child, root, is_dir, specs):
            return False
        directory = child
    return path.is_relative_to(root)


def scan_directory(directory: Path) -> list[os.DirEntry[str]]:
    """The entries of `directory` sorted by name ([] when it cannot be read)."""
    try:
        with os.scandir(directory) as iterator:
            return sorted(iterator, key=lambda entry: entry.name)
    except OSError:
        return []


def _stamp(entry: os.DirEntry[str]) -> FileStamp | None:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return None
    if not entry.is_file(follow_symlinks=False) or info.st_size > MAX_INDEXED_BYTES:
        return None
    return FileStamp(info.st_mtime_ns, info.st_size)


def read_source(root: Path, relative: str) -> tuple[str, FileStamp] | None:
    """The text of a file to index, or None when it must not or cannot be indexed."""
    path = root / relative
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not _is_regular(info.st_mode) or info.st_size > MAX_INDEXED_BYTES:
            return None
        data = handle.read(MAX_INDEXED_BYTES + 1)
    if len(data) > MAX_INDEXED_BYTES or is_probably_binary(data):
        return None
    try:
        return data.decode("utf-8"), FileStamp(info.st_mtime_ns, info.st_size)
    except UnicodeDecodeError:
        return None


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)
