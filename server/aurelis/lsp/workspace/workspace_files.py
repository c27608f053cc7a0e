"""Reading the workspace from disk, safely: only inside the workspace folders, never secrets,
binaries or huge files, and never longer than the caller's deadline.

Every path is resolved (symlinks followed) before the boundary check, so a link that
points out of the workspace is treated as outside.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aurelis.core.secrets import is_secret_file
from aurelis.index.files import scan_directory
from aurelis.index.ignore import IgnoreSpecs, directory_specs, is_ignored, is_probably_binary

__all__ = [
    "MAX_FILE_BYTES",
    "WorkspaceRoots",
    "TreeListing",
    "read_text_file",
    "is_probably_binary",
    "list_tree",
]

#: Files larger than this are never read for context.
MAX_FILE_BYTES = 256 * 1024
_MEMO_LIMIT = 4096


class WorkspaceRoots:
    """The workspace folders, resolved; answers "may this path be read?"."""

    def __init__(self, folders: Iterable[str | Path]) -> None:
        roots: list[Path] = []
        for folder in folders:
            try:
                roots.append(Path(folder).resolve(strict=True))
            except OSError:
                continue  # a folder that does not exist cannot hold anything to read
        self._set(tuple(roots), every=tuple(roots))

    def _set(self, roots: tuple[Path, ...], every: tuple[Path, ...]) -> None:
        self.roots = roots
        # Every folder of the editor, deepest first: a path belongs to the deepest folder
        # holding it, even when this view is narrowed to another one (`within`).
        self._every = tuple(sorted(every, key=lambda r: len(r.parts), reverse=True))
        # Memos for open documents, whose paths do not change while they are open. Disk
        # reads never use them: `contains` resolves links afresh every time.
        self._names: dict[str, str] = {}
        self._folders: dict[str, Path | None] = {}
        self._narrowed: dict[Path | None, WorkspaceRoots] = {}

    def __bool__(self) -> bool:
        return bool(self.roots)

    def within(self, root: Path | None) -> WorkspaceRoots:
        """This workspace seen from one of its folders: only `root` may be read (a folder
        nested in it stays its own); None, outside every folder, may read none."""
        narrowed = self._narrowed.get(root)
        if narrowed is None:
            narrowed = WorkspaceRoots(())
            narrowed._set((root,) if root in self.roots else (), every=self._every)
            self._narrowed[root] = narrowed
        return narrowed

    def root_of(self, path: str | Path) -> Path | None:
        """The workspace folder holding `path` (after resolving links), or None."""
        try:
            real = Path(path).resolve()
        except (OSError, RuntimeError):
            return None
        for root in self._every:  # the deepest root wins when folders are nested
            if real == root or real.is_relative_to(root):
                return root if root in self.roots else None
        return None

    def contains(self, path: str | Path) -> bool:
        return self.root_of(path) is not None

    def relative(self, path: str | Path) -> str:
        """`path` relative to its workspace folder; just the file name when outside."""
        key = str(path)
        name = self._names.get(key)
        if name is None:
            root = self.root_of(path)
            if root is None:
                name = Path(path).name
            else:
                name = Path(path).resolve().relative_to(root).as_posix() or "."
            if len(self._names) < _MEMO_LIMIT:
                self._names[key] = name
        return name

    def folder_of_open_document(self, path: str) -> Path | None:
        """`root_of` an open document's path, memoized per path (asked on every request)."""
        if path in self._folders:
            return self._folders[path]
        folder = self.root_of(path)
        if len(self._folders) < _MEMO_LIMIT:
            self._folders[path] = folder
        return folder

    def holds_open_document(self, path: str) -> bool:
        """Whether an open document's path is inside the workspace (memoized per path)."""
        return self.folder_of_open_document(path) is not None


def read_text_file(
    path: str | Path, roots: WorkspaceRoots, max_bytes: int = MAX_FILE_BYTES
) -> str | None:
    """The text of `path`, or None when it must not or cannot be used as context.

    None for: paths outside the workspace (links resolved), files that are secrets by
    nature (`.env`, `.netrc`, keys: `core.secrets.files`, checked on the name and on the
    link's target), non-regular files, files over `max_bytes`, binary files and
    undecodable text.
    """
    if is_secret_file(str(path)):
        return None
    try:
        real = Path(path).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if is_secret_file(str(real)) or not roots.contains(real):
        return None
    try:
        if not real.is_file() or real.stat().st_size > max_bytes:
            return None
        data = real.read_bytes()
    except OSError:
        return None
    if is_probably_binary(data):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class TreeListing:
    """Workspace-relative file paths; `complete` is False when a cap or the deadline hit."""

    root: Path
    entries: tuple[str, ...]
    complete: bool


def list_tree(root: Path, *, deadline: float, max_entries: int = 300) -> TreeListing:
    """Files under `root` that git would not ignore, breadth first, within the deadline.

    `deadline` is a time.monotonic() value: the walk stops there and reports what it has,
    so a huge or slow file system costs a shorter listing, not a slow request.
    """
    entries: list[str] = []
    queue: list[tuple[Path, IgnoreSpecs]] = [(root, [])]
    while queue:
        directory, inherited = queue.pop(0)
        specs = inherited + directory_specs(directory)
        children = scan_directory(directory)
        for child in children:
            if time.monotonic() > deadline or len(entries) >= max_entries:
                return TreeListing(root, tuple(entries), complete=False)
            relative = _relative(child, root)
            is_dir = child.is_dir(follow_symlinks=False)
            if is_ignored(Path(child.path), root, is_dir, specs) or child.is_symlink():
                continue
            if is_dir:
                queue.append((Path(child.path), specs))
            elif not is_secret_file(relative):
                entries.append(relative)
    return TreeListing(root, tuple(entries), complete=True)


def _relative(entry: os.DirEntry[str], root: Path) -> str:
    return Path(entry.path).relative_to(root).as_posix()
