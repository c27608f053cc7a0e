"""Handing memory a build has freed back to the operating system.

A build allocates far more than the index keeps: parse trees, file texts, the engine's
writer arena and segment merges. glibc keeps what is freed for later allocations, so the
server would stay as large as the build's peak (about three times what the index needs)
until it exits; `malloc_trim` returns the free pages. Elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable

__all__ = ["release_free_memory"]


def release_free_memory() -> None:
    """Return freed heap pages to the OS (glibc only; a few milliseconds)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc (musl has no malloc_trim)
    return trim
