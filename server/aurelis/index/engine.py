"""BM25 ranking of chunks, by tantivy (the engine Tabby indexes code with).

The engine holds terms only; the chunks' text stays in the index's text store (`texts`),
which `store` persists. Each indexed document is one chunk: its file path (untokenized, so a
file's chunks can be dropped by path), its ordinal in the file, the words of its code and
the names it defines (boosted: a chunk that defines a name outranks one that uses it).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import tantivy

__all__ = ["ChunkHit", "SearchEngine", "words_of"]

_HEAP_BYTES = 15_000_000  # tantivy's smallest writer heap: the index is small and local
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_NAMES_BOOST = 3.0
_MAX_QUERY_WORDS = 64


@dataclass(frozen=True)
class ChunkHit:
    path: str
    ordinal: int
    score: float


def words_of(text: str) -> list[str]:
    """Identifiers and their parts (snake_case and camelCase split), lower case."""
    return [word for identifier in _IDENTIFIER.findall(text) for word in _split(identifier)]


def indexed_words(text: str) -> str:
    """`words_of(text)` joined by spaces, as the engine indexes them."""
    # A chunk repeats a few identifiers many times (`self`, `np`): each is split once.
    return " ".join(map(_joined_words, _IDENTIFIER.findall(text)))


def _split(identifier: str) -> tuple[str, ...]:
    lowered = identifier.lower()
    parts = [part.lower() for piece in identifier.split("_") for part in _CAMEL.findall(piece)]
    return (lowered, *parts) if len(parts) > 1 else (lowered,)


def _joined_words(identifier: str) -> str:
    if identifier.isalpha() and identifier.islower():
        return identifier  # `self`, `return`, `rows`: nothing to split, nothing to cache
    return _joined_compound(identifier)


# The common identifiers alone: a cache of every one would outweigh the index itself.
@functools.lru_cache(maxsize=4096)
def _joined_compound(identifier: str) -> str:
    return " ".join(_split(identifier))


class SearchEngine:
    """An in-memory tantivy index of chunks; not thread-safe (the caller holds a lock)."""

    def __init__(self) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("path", stored=True, tokenizer_name="raw")
        builder.add_integer_field("ordinal", stored=True, indexed=False)
        builder.add_text_field("words", stored=False, index_option="freq")
        builder.add_text_field("names", stored=False, index_option="freq")
        self._index = tantivy.Index(builder.build())
        self._writer = self._index.writer(heap_size=_HEAP_BYTES, num_threads=1)
        self._dirty = False

    def replace_file(self, path: str, chunks: Sequence[tuple[str, Iterable[str]]]) -> None:
        """Drop `path`'s chunks and add these: (text, names defined in it) each."""
        self._writer.delete_documents_by_term("path", path)
        for ordinal, (text, names) in enumerate(chunks):
            document = tantivy.Document(
                path=path,
                ordinal=ordinal,
                words=indexed_words(text),
                names=indexed_words(" ".join(names)),
            )
            self._writer.add_document(document)
        self._dirty = True

    def remove_file(self, path: str) -> None:
        self._writer.delete_documents_by_term("path", path)
        self._dirty = True

    def commit(self) -> None:
        """Make the changes searchable (a commit costs ~10 ms: batch them)."""
        if self._dirty:
            self._writer.commit()
            self._index.reload()
            self._dirty = False

    def search(self, text: str, limit: int) -> list[ChunkHit]:
        """The best chunks for the words of `text`, best first."""
        # The engine's tokenizer splits at underscores: a query word with one would be a
        # phrase (which needs positions, not kept), so the parts go in alone.
        parts = (part for word in words_of(text) for part in word.split("_") if part)
        words = list(dict.fromkeys(parts))[-_MAX_QUERY_WORDS:]
        if not words or limit <= 0:
            return []
        # Words are [a-z0-9] only and lower case: nothing the query language could read
        # as syntax (its operators are upper case).
        query = self._index.parse_query(
            " ".join(words), ["words", "names"], field_boosts={"names": _NAMES_BOOST}
        )
        searcher = self._index.searcher()
        hits = []
        for score, address in searcher.search(query, limit).hits:
            document = searcher.doc(address)
            hits.append(ChunkHit(document["path"][0], int(document["ordinal"][0]), score))
        return hits
