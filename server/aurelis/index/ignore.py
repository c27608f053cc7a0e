"""Which workspace files are never read: what git ignores, what is always noise (VCS data,
dependencies, caches, build output), binaries.

Shared by the workspace tree listing of the language server and the repository index, so
both skip the same files.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

__all__ = [
    "IgnoreSpecs",
    "always_ignored",
    "directory_specs",
    "is_ignored",
    "is_probably_binary",
]

_SNIFF_BYTES = 8192
_MAX_IGNORE_FILE_BYTES = 256 * 1024
# Always skipped, .gitignore or not: VCS data, dependencies, caches, build output.
_ALWAYS_IGNORED_LINES = [
    ".git/", ".hg/", ".svn/", "node_modules/", "__pycache__/", ".venv/", "venv/",
    ".mypy_cache/", ".pytest_cache/", ".ruff_cache/", ".tox/", ".idea/", ".vscode/",
    "dist/", "build/", "*.pyc", "*.egg-info/", ".DS_Store",
]  # fmt: skip

#: The .gitignore specs in force in a directory, each with the directory it belongs to.
IgnoreSpecs = list[tuple[Path, "pathspec.GitIgnoreSpec"]]


def _gitignore(lines: list[str]) -> pathspec.GitIgnoreSpec:
    # Imported on first use: pathspec is not needed before the first walk, and the editor
    # waits for the server to start.
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


@functools.cache
def always_ignored() -> pathspec.GitIgnoreSpec:
    return _gitignore(_ALWAYS_IGNORED_LINES)


def directory_specs(directory: Path) -> IgnoreSpecs:
    """The spec of `directory`'s own .gitignore (none when absent, huge or unreadable)."""
    ignore_file = directory / ".gitignore"
    try:
        if ignore_file.stat().st_size > _MAX_IGNORE_FILE_BYTES:
            return []
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [(directory, _gitignore(lines))]


def is_ignored(path: Path, root: Path, is_dir: bool, specs: IgnoreSpecs) -> bool:
    """Whether git (or the always-ignored list) leaves `path`, under `root`, out."""
    suffix = "/" if is_dir else ""
    if always_ignored().match_file(path.relative_to(root).as_posix() + suffix):
        return True
    # Each .gitignore matches paths relative to its own directory.
    return any(spec.match_file(path.relative_to(base).as_posix() + suffix) for base, spec in specs)


def is_probably_binary(data: bytes) -> bool:
    """NUL bytes in the first few KB: what git itself uses to call a file binary."""
    return b"\0" in data[:_SNIFF_BYTES]
