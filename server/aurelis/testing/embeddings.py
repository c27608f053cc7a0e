"""The embeddings route of the loopback model server: its paths, vectors and answer body.

A test of retrieval needs vectors that are cheap, deterministic and mean something: the
default `hashed_embedding` is a bag of the identifier words of a text, so texts that share
words are near each other. A test that needs other vectors sets its own `Embedder` per model
(`ModelServer.set_embedder`); what it returns is sent as given, so a test can also send a
malformed vector.
"""

from __future__ import annotations

import math
import re
import threading
import zlib
from collections.abc import Callable
from typing import Any

from aurelis.testing.script import ANY_MODEL, RecordedRequest, Reply, estimate_tokens

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "EMBEDDINGS_PATHS",
    "Embedder",
    "EmbedderBook",
    "embeddings_body",
    "hashed_embedding",
    "input_texts",
    "words_of",
]

#: The SDK's EmbeddingsClient appends /embeddings to its endpoint; the same prefixes as chat.
EMBEDDINGS_PATHS = ("/embeddings", "/v1/embeddings", "/models/embeddings")

EMBEDDING_DIMENSIONS = 64

Embedder = Callable[[str], list[float]]

# Runs of letters and digits: `_` and everything else separate identifiers' words.
_RUN = re.compile(r"[^\W_]+")
# camelCase and HTTPResponse boundaries inside a run.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words_of(text: str) -> list[str]:
    """The lower-cased words of `text`, identifiers split at `_` and camelCase."""
    return [part.lower() for run in _RUN.findall(text) for part in _CAMEL.split(run) if part]


def hashed_embedding(text: str) -> list[float]:
    """A 64-dimensional hashed bag of words, L2-normalised; the same on every run (crc32,
    not Python's salted `hash`). A text without words gets the first unit vector."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in words_of(text):
        vector[zlib.crc32(word.encode("utf-8")) % EMBEDDING_DIMENSIONS] += 1.0
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return [value / norm for value in vector]


def input_texts(body: dict[str, Any]) -> list[str] | None:
    """The texts of an embeddings request (`input`: a string or a list of strings), else None."""
    given = body.get("input")
    if isinstance(given, str):
        return [given]
    if isinstance(given, list) and given and all(isinstance(text, str) for text in given):
        return given
    return None


def embeddings_body(
    record: RecordedRequest, reply: Reply, vectors: list[list[Any]]
) -> dict[str, Any]:
    """The OpenAI / Azure AI embeddings answer, one item per vector in input order."""
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = sum(estimate_tokens(text) for text in input_texts(record.body) or [])
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": index, "embedding": vector}
            for index, vector in enumerate(vectors)
        ],
        "model": record.model,
        "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
    }


class EmbedderBook:
    """The embedder of each model (or of `"*"`), `hashed_embedding` by default; thread-safe."""

    def __init__(self) -> None:
        # The event loop thread and a test's thread both touch the embedders.
        self._lock = threading.Lock()
        self._embedders: dict[str, Embedder] = {}

    def set(self, model: str, fn: Embedder) -> None:
        with self._lock:
            self._embedders[model] = fn

    def clear(self) -> None:
        with self._lock:
            self._embedders.clear()

    def vectors(self, model: str, texts: list[str]) -> list[list[Any]]:
        with self._lock:
            fn = self._embedders.get(model) or self._embedders.get(ANY_MODEL)
        embed = fn or hashed_embedding
        return [list(embed(text)) for text in texts]
