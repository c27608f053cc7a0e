"""Reading a file a user named, without letting the name decide how much or how long.

`/dev/zero` has no end, a FIFO blocks until someone writes, a device or a directory is not
text. The file is opened with O_NONBLOCK (so opening a FIFO returns at once), checked with
fstat on the descriptor actually opened (no race with a rename), refused unless it is a
regular file, and read up to `max_bytes` (a file growing while it is read is refused too).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["UnreadableFile", "read_bounded", "read_regular_file"]


class UnreadableFile(Exception):
    """The path cannot be read as a regular file of bounded size; the message says why."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The whole content of the regular file `path`, at most `max_bytes` long."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOCTTY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise _open_error(path, error) from None
    try:
        return _read_bounded(path, descriptor, max_bytes, regular_only=True)
    finally:
        os.close(descriptor)


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """Up to `max_bytes` of `path`, which may also be a pipe the user named on purpose
    (`aurelis batch <(make-requests)`): that read blocks like any pipe, but it is bounded."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise _open_error(path, error) from None
    try:
        return _read_bounded(path, descriptor, max_bytes, regular_only=False)
    finally:
        os.close(descriptor)


def _open_error(path: Path, error: OSError) -> UnreadableFile:
    if isinstance(error, FileNotFoundError):
        return UnreadableFile(f"{path} does not exist")
    if isinstance(error, IsADirectoryError):
        return UnreadableFile(f"{path} is a directory")
    if isinstance(error, PermissionError):
        return UnreadableFile(f"cannot read {path}: permission denied")
    return UnreadableFile(f"cannot read {path}: {error.strerror or error}")


def _read_bounded(path: Path, descriptor: int, max_bytes: int, *, regular_only: bool) -> bytes:
    info = os.fstat(descriptor)
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFile(f"{path} is a directory")
    if regular_only and not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(f"{path} is not a regular file ({_kind(info.st_mode)})")
    if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
        raise UnreadableFile(_too_large(path, info.st_size, max_bytes), too_large=True)
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = os.read(descriptor, min(1 << 20, max_bytes + 1 - total))
        except OSError as error:
            raise UnreadableFile(f"cannot read {path}: {error.strerror or error}") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:  # a stream, or a file that grew while being read
            message = f"{path} is larger than the limit of {max_bytes // 1024} KB"
            raise UnreadableFile(message, too_large=True)


def _too_large(path: Path, size: int, max_bytes: int) -> str:
    return f"{path} is {size // 1024} KB; the limit is {max_bytes // 1024} KB"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"
