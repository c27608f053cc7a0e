"""Aurelis's own files (logs, history, trust store, cache): owner-only, never through a link.

A log or history file holds what the user typed and what went wrong, so it is created
0600 in a 0700 directory. It is opened with O_NOFOLLOW: a symlink planted where the file
should be (by a project setting or another user) makes the open fail instead of
appending our data to whatever it points at. An existing file is used only if it is a
regular file owned by this user; looser permissions left by older versions are tightened,
or, for a file whose contents decide something (the trust store), refused when other users
could have written it (`check_private`, the one check every owner-only file goes through).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO

__all__ = ["PRIVATE_MODE", "UnsafeFileError", "check_private", "open_private_append"]

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
        check_private(descriptor, path, repair=True)
    except BaseException:
        os.close(descriptor)
        raise
    return open(descriptor, "a", encoding=encoding, errors="replace", closefd=True)


def check_private(descriptor: int, path: Path, *, repair: bool) -> os.stat_result:
    """The open `descriptor` must be a regular file of this user's; returns its status.

    Loose permissions are tightened to 0600 when `repair` (a file only we read back: an
    older version or a umask left it so); otherwise a file other users can write is
    refused, since they could have put their own contents in it. UnsafeFileError names
    what is wrong with `path`.
    """
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(errno.EINVAL, f"{path} is not a regular file")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise UnsafeFileError(errno.EPERM, f"{path} belongs to another user")
    loose = stat.S_IMODE(info.st_mode) & 0o077
    if loose and repair:
        os.fchmod(descriptor, PRIVATE_MODE)
    elif loose & 0o022:
        raise UnsafeFileError(errno.EPERM, f"{path} is writable by other users")
    return info
