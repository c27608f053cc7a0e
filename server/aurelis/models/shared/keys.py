"""Key names in the shared Redis: one namespace per endpoint and token.

Everything a team shares hangs under `aurelis:{<namespace>}:`, where the namespace is a
hash of the endpoint and of a hash of the token. Two tokens on one Redis never share limits,
cache entries or budgets, and neither the token nor the endpoint can be read back from a
key. The braces are a Redis Cluster hash tag: every key of one namespace lands on one slot,
so the multi-key scripts stay legal there too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Keyspace", "keyspace_for", "KEY_VERSION"]

#: Bumped when the layout of stored values changes, so old entries are never misread.
KEY_VERSION = "1"


@dataclass(frozen=True)
class Keyspace:
    """Builds the Redis keys of one namespace."""

    namespace: str

    @property
    def prefix(self) -> str:
        return f"aurelis:v{KEY_VERSION}:{{{self.namespace}}}:"

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)


@lru_cache(maxsize=64)
def keyspace_for(endpoint: str, token: str | None) -> Keyspace:
    """The keyspace of `endpoint` used with `token` (None: an endpoint without a token)."""
    token_digest = hashlib.sha256((token or "").encode("utf-8")).digest()
    digest = hashlib.blake2b(digest_size=12)
    digest.update(endpoint.rstrip("/").encode("utf-8"))
    digest.update(b"\0")
    digest.update(token_digest)
    return Keyspace(digest.hexdigest())
