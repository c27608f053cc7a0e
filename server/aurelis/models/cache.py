"""The response cache: keys, entries, an in-memory TTL/LRU layer and the optional disk layer.

Every setting is read live from the config passed to each call: `cache_enabled`,
`cache_ttl`, `cache_max_size`, `persistent_cache`, `cache_dir`, `persistent_cache_max_mb`.
Entries hold only what the model answered (content, model, tokens and the call's facts),
never the request's own metadata; keys are hashes, so no prompt text is stored either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from cachetools import TTLCache

from aurelis.core.config import AurelisConfig
from aurelis.models.persistent_cache import PersistentCache
from aurelis.models.prompts import TEMPLATE_VERSION
from aurelis.models.routing import ResolvedModel
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["CacheEntry", "ResponseCache", "cache_key", "cache_path"]

logger = logging.getLogger("aurelis.models.cache")

Clock = Callable[[], float]

PERSISTENT_FILE = "responses.sqlite3"


def cache_key(
    request: ModelRequest, resolved: ResolvedModel, output_tokens: int, *, model_file: str = ""
) -> str:
    """A hash of everything that changes the answer.

    The key is computed from the request fields plus the resolved model, deployment,
    endpoint, context window, output budget and TEMPLATE_VERSION, *before* the messages
    are built. That covers exactly what the final messages cover: build_messages is a
    deterministic function of (task type or system prompt, prompt, context, prompt budget =
    window - output tokens) and of the prompt templates, whose wording TEMPLATE_VERSION
    pins. Hashing the inputs instead of the built messages keeps tokenizing and redaction
    off the cache-hit path. `model_file` names the GGUF behind LOCAL (another file, another
    answer). Fields are length-prefixed so no two requests can collide by moving text from
    one field into the next.
    """
    parts = (
        TEMPLATE_VERSION,
        resolved.model.value,
        resolved.deployment,
        resolved.endpoint,
        model_file,
        str(resolved.context_window),
        str(output_tokens),
        request.task_type.value,
        request.system_prompt or "",
        repr(request.temperature),
        request.prompt,
        _canonical(request.context),
    )
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def _canonical(context: Mapping[str, Any] | None) -> str:
    if not context:
        return ""
    try:
        return json.dumps(
            context, sort_keys=True, default=str, ensure_ascii=False, separators=(",", ":")
        )
    except TypeError:  # keys of mixed types cannot be sorted; repr is still deterministic
        return repr(sorted(context.items(), key=lambda item: repr(item[0])))


@dataclass(frozen=True)
class CacheEntry:
    """A cached answer: what the model said, and the facts of the call that produced it."""

    content: str
    model_used: ModelType
    tokens_used: int
    metadata: Mapping[str, Any]
    stored_at: float  # time.time(), so disk entries age across restarts

    def to_json(self) -> str:
        return json.dumps(
            {
                "content": self.content,
                "model_used": self.model_used.value,
                "tokens_used": self.tokens_used,
                "metadata": dict(self.metadata),
                "stored_at": self.stored_at,
            },
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> CacheEntry:
        data = json.loads(text)
        return cls(
            content=str(data["content"]),
            model_used=ModelType(data["model_used"]),
            tokens_used=int(data["tokens_used"]),
            metadata=dict(data.get("metadata") or {}),
            stored_at=float(data["stored_at"]),
        )


def cache_path(config: AurelisConfig) -> Path:
    """Where the persistent cache lives (cache_dir, else the platformdirs cache dir)."""
    folder = config.cache_dir or Path(platformdirs.user_cache_dir("aurelis"))
    return Path(folder) / PERSISTENT_FILE


class ResponseCache:
    """A TTL + LRU cache in memory, backed by sqlite on disk when `persistent_cache` is on."""

    def __init__(self, *, clock: Clock = time.monotonic, wall: Clock = time.time) -> None:
        self._clock, self._wall = clock, wall
        self._shape = (0, 0)
        self._frozen: float | None = None
        self._last_access = clock()
        self._memory: TTLCache[str, tuple[float, CacheEntry]] = TTLCache(1, 1, timer=self._timer)
        self._disk: PersistentCache | None = None
        self.hits = 0
        self.misses = 0

    def get(self, key: str, config: AurelisConfig, *, disk: bool = True) -> CacheEntry | None:
        """The fresh entry for `key`, or None (counted as a miss).

        `disk=False` looks in memory only and counts no miss: the shared Redis tier sits
        between memory and disk, so the caller asks again once Redis has missed too.
        """
        memory = self._memory_for(config)
        ttl = config.cache_ttl
        found = memory.get(key) if memory is not None else None
        if found is not None and self._clock() - found[0] < ttl:
            self.hits += 1
            return found[1]
        if not disk:
            return None
        entry = self._disk_get(key, config)
        if entry is None:
            self.misses += 1
            return None
        if memory is not None:
            age = max(0.0, self._wall() - entry.stored_at)
            memory[key] = (self._clock() - age, entry)
        self.hits += 1
        return entry

    def put(self, key: str, entry: CacheEntry, config: AurelisConfig) -> None:
        if config.cache_ttl <= 0:
            return
        memory = self._memory_for(config)
        if memory is not None:
            memory[key] = (self._clock(), entry)
        disk = self._disk_for(config)
        if disk is not None:
            disk.put(key, entry.to_json(), entry.stored_at, config.persistent_cache_max_mb)

    def clear(self, config: AurelisConfig) -> int:
        """Drop every entry, in memory and on disk; returns how many distinct keys went.

        The disk file is emptied even while `persistent_cache` is off: clearing the cache
        must not leave answers from an earlier session behind.
        """
        keys = set(self._memory.keys())
        self._memory.clear()
        disk = self._disk_for(config)
        if disk is not None:
            keys |= disk.clear()
        elif cache_path(config).is_file():
            leftover = PersistentCache(cache_path(config))
            keys |= leftover.clear()
            leftover.close()
        return len(keys)

    def stats(self, config: AurelisConfig) -> dict[str, Any]:
        memory = self._memory_for(config)
        disk = self._disk_for(config)
        return {
            "enabled": config.cache_enabled,
            "size": len(memory) if memory is not None else 0,
            "max_size": config.cache_max_size,
            "ttl": config.cache_ttl,
            "hits": self.hits,
            "misses": self.misses,
            "persistent": str(disk.path) if disk is not None else None,
            "persistent_entries": disk.count() if disk is not None else 0,
        }

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None

    # --- layers ---------------------------------------------------------------------------
    def _memory_for(self, config: AurelisConfig) -> TTLCache[str, tuple[float, CacheEntry]] | None:
        shape = (config.cache_max_size, config.cache_ttl)
        if shape != self._shape:
            self._rebuild(shape)
        self._last_access = self._clock()
        return self._memory if shape[0] > 0 and shape[1] > 0 else None

    def _rebuild(self, shape: tuple[int, int]) -> None:
        # TTLCache fixes maxsize and ttl at construction; a live change gets a new one.
        # The change happened some time after the last access, so the move runs on a clock
        # stopped at that access: entries still alive then move over (oldest first, so LRU
        # order holds), and get() judges them by the time they were stored and the new ttl.
        size, ttl = shape
        old = self._memory
        self._frozen = self._last_access
        try:
            self._memory = TTLCache(max(size, 1), max(ttl, 1), timer=self._timer)
            self._shape = shape
            if size > 0 and ttl > 0:
                for key, value in list(old.items())[-size:]:
                    self._memory[key] = value
        finally:
            self._frozen = None

    def _timer(self) -> float:
        return self._frozen if self._frozen is not None else self._clock()

    def _disk_for(self, config: AurelisConfig) -> PersistentCache | None:
        if not config.persistent_cache:
            self.close()  # switched off: let go of the file (others may clear it meanwhile)
            return None
        path = cache_path(config)
        if self._disk is None or self._disk.path != path:
            self.close()
            self._disk = PersistentCache(path)
        return self._disk

    def _disk_get(self, key: str, config: AurelisConfig) -> CacheEntry | None:
        disk = self._disk_for(config)
        if disk is None:
            return None
        text = disk.get(key, min_stored_at=self._wall() - config.cache_ttl)
        if text is None:
            return None
        try:
            return CacheEntry.from_json(text)
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring an unreadable persistent cache entry")
            disk.delete(key)
            return None
