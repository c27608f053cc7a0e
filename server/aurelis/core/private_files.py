"""Aurelis's own files (logs, shell history): owner-only, appended, never through a link.

A log or history file holds what the user typed and what went wrong, so it is created
0600 in a 0700 directory. It is opened with O_NOFOLLOW: a symlink planted where the file
should be (by a project setting or another user) makes the open fail instead of
appending our data to whatever it points at. An existing file is used only if it is a
regular file owned by this user; looser permissions left by older versions are tightened.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO

__all__ = ["UnsafeFileError", "open_private_append", "PRIVATE_MODE"]

PRIVATE_MODE = 0o600
_DIRECTORY_MODE = 0o700


class UnsafeFileError(OSError):
    """The path is a symlink, not a regular file, or belongs to someone else."""


def open_private_append(path: Path, *, encoding: str = "utf-8") -> IO[str]:
    """Open `path` for appending text, creating it 0600 (and its directory 0700)."""
    path.parent.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, PRIVATE_MODE)
    except OSError as error:
        if error.errno == errno.ELOOP or path.is_symlink():
            raise UnsafeFileError(
                errno.ELOOP, f"{path} is a symbolic link; Aurelis does not write through links"
            ) from None
        raise
    try:
        _check_ours(descriptor, path)
    except BaseException:
        os.close(descriptor)
        raise
    return open(descriptor, "a", encoding=encoding, errors="replace", closefd=True)


def _check_ours(descriptor: int, path: Path) -> None:
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(errno.EINVAL, f"{path} is not a regular file")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise UnsafeFileError(errno.EPERM, f"{path} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.fchmod(descriptor, PRIVATE_MODE)  # written by an older version, or by umask
