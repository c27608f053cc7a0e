"""Which files define each name, and the names that start with what is being typed.

A repository defines tens of thousands of names, most of them in one file: such a name
maps to that file's path alone (the path string every other table shares), and only names
defined in several files get a list. The sorted list that answers prefixes is made on
the first prefix lookup and kept in order from then on (never re-sorted per file).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

__all__ = ["NameTable"]

_MAX_PREFIX_MATCHES = 16


class NameTable:
    """name -> the files defining it, in the order they were added; not thread-safe."""

    def __init__(self) -> None:
        self._files: dict[str, str | list[str]] = {}
        self._sorted: list[str] | None = None

    def add(self, relative: str, names: Iterable[str]) -> None:
        """`relative` defines `names` (each counted once)."""
        for name in dict.fromkeys(names):
            known = self._files.get(name)
            if known is None:
                self._files[name] = relative
                if self._sorted is not None:
                    bisect.insort(self._sorted, name)
            elif isinstance(known, str):
                self._files[name] = [known, relative]
            else:
                known.append(relative)

    def remove(self, relative: str, names: Iterable[str]) -> None:
        """`relative` no longer defines `names`."""
        for name in dict.fromkeys(names):
            known = self._files.get(name)
            left = [path for path in known if path != relative] if isinstance(known, list) else []
            if left:
                self._files[name] = left[0] if len(left) == 1 else left
            elif known == relative or isinstance(known, list):
                del self._files[name]
                self._drop_sorted(name)

    def files_defining(self, name: str) -> Sequence[str]:
        known = self._files.get(name)
        if known is None:
            return ()
        return (known,) if isinstance(known, str) else known

    def starting_with(self, prefix: str) -> list[str]:
        """Names that start with `prefix`, in order, `prefix` itself left out."""
        if self._sorted is None:
            self._sorted = sorted(self._files)
        start = bisect.bisect_left(self._sorted, prefix)
        matches = []
        for name in self._sorted[start : start + _MAX_PREFIX_MATCHES]:
            if not name.startswith(prefix):
                break
            if name != prefix:
                matches.append(name)
        return matches

    def _drop_sorted(self, name: str) -> None:
        if self._sorted is None:
            return
        at = bisect.bisect_left(self._sorted, name)
        if at < len(self._sorted) and self._sorted[at] == name:
            del self._sorted[at]
