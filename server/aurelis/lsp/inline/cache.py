"""The inline completion cache, with "forwarding": typing along a shown suggestion is
answered with its remaining part, without a model call.

An entry remembers where a suggestion was made (the text before and after the cursor) and
the suggestion. A later request hits it when the text after the cursor is the same and the
text before it is the old prefix plus the start of the suggestion. Prefixes are kept as
length + hash + a short tail rather than whole strings, so a 5 MB buffer costs a few bytes
per entry, not megabytes.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CompletionCache"]

_TAIL = 64


@dataclass(frozen=True)
class _Entry:
    uri: str
    prefix_length: int
    prefix_hash: int
    prefix_tail: str
    suffix_length: int
    suffix_hash: int
    completion: str
    created: float
    origin: object  # who made the suggestion (counted when it is shown again)


class CompletionCache:
    """LRU of recent suggestions (Tabby's numbers: 100 entries, 5 minutes)."""

    def __init__(self, max_entries: int = 100, ttl: float = 300.0) -> None:
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._ttl = ttl
        self._next = 0

    def store(
        self, uri: str, prefix: str, suffix: str, completion: str, origin: object = None
    ) -> None:
        if not completion:
            return
        entry = _Entry(
            uri=uri,
            prefix_length=len(prefix),
            prefix_hash=hash(prefix),
            prefix_tail=prefix[-_TAIL:],
            suffix_length=len(suffix),
            suffix_hash=hash(suffix),
            completion=completion,
            created=time.monotonic(),
            origin=origin,
        )
        self._next += 1
        self._entries[self._next] = entry
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a suggestion the user is typing along, or None."""
        found = self.lookup_with_origin(uri, prefix, suffix)
        return None if found is None else found[0]

    def lookup_with_origin(self, uri: str, prefix: str, suffix: str) -> tuple[str, object] | None:
        """The rest of a suggestion the user is typing along and its origin, or None."""
        now = time.monotonic()
        suffix_hash: int | None = None
        for key in reversed(self._entries):
            entry = self._entries[key]
            if entry.uri != uri or now - entry.created > self._ttl:
                continue
            if entry.suffix_length != len(suffix) or len(prefix) < entry.prefix_length:
                continue
            typed = prefix[entry.prefix_length :]
            if len(typed) >= len(entry.completion) or not entry.completion.startswith(typed):
                continue
            if suffix_hash is None:
                suffix_hash = hash(suffix)
            if entry.suffix_hash != suffix_hash or not self._same_prefix(entry, prefix):
                continue
            self._entries.move_to_end(key)
            return entry.completion[len(typed) :], entry.origin
        return None

    @staticmethod
    def _same_prefix(entry: _Entry, prefix: str) -> bool:
        start = entry.prefix_length - len(entry.prefix_tail)
        if prefix[start : entry.prefix_length] != entry.prefix_tail:
            return False  # cheap check first: most misses differ right before the cursor
        return hash(prefix[: entry.prefix_length]) == entry.prefix_hash

    def forget(self, uri: str) -> None:
        for key in [key for key, entry in self._entries.items() if entry.uri == uri]:
            del self._entries[key]
