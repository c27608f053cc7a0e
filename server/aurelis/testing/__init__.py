"""Test helpers that run real code over real transports (no mocks of our own paths).

``ModelServer`` is a loopback chat-completions and embeddings server that speaks the
azure-ai-inference / GitHub Models wire format; ``Reply`` scripts one of its answers;
``hashed_embedding`` is the vector its embeddings route gives a text by default
(``ModelServer.set_embedder`` sets another ``Embedder`` per model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aurelis.testing.embeddings import (
        EMBEDDING_DIMENSIONS,
        EMBEDDINGS_PATHS,
        Embedder,
        hashed_embedding,
    )
    from aurelis.testing.fake_provider import FakeProvider
    from aurelis.testing.model_server import ModelServer, RecordedRequest, Reply

__all__ = [
    "EMBEDDINGS_PATHS",
    "EMBEDDING_DIMENSIONS",
    "Embedder",
    "FakeProvider",
    "ModelServer",
    "RecordedRequest",
    "Reply",
    "hashed_embedding",
]

_EMBEDDING_NAMES = frozenset(
    {"EMBEDDINGS_PATHS", "EMBEDDING_DIMENSIONS", "Embedder", "hashed_embedding"}
)


def __getattr__(name: str) -> Any:
    # Imported lazily so `python -m aurelis.testing.model_server` does not find the module
    # already imported by its package (runpy warns about that double import).
    if name == "FakeProvider":  # in-process, for unit tests of the orchestrator's pipeline
        from aurelis.testing.fake_provider import FakeProvider

        return FakeProvider
    if name in _EMBEDDING_NAMES:
        from aurelis.testing import embeddings

        return getattr(embeddings, name)
    if name in __all__:
        from aurelis.testing import model_server

        return getattr(model_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
