"""Chunk vectors for retrieval by meaning: kept by content, ranked by cosine, saved 0600
for the same model only; and the fusion of rankings."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from aurelis.index.repo_index import Snippet
from aurelis.index.vectors import ChunkPlace, ChunkVectors, content_key, vectors_path
from aurelis.lsp.workspace.retrieval import fused

A, B, C = ChunkPlace("a.py", 0, 10), ChunkPlace("b.py", 0, 10), ChunkPlace("c.py", 5, 9)


def _vectors(storage: Path | None = None) -> ChunkVectors:
    vectors = ChunkVectors("embed-small", storage)
    vectors.add(["ka", "kb", "kc"], [[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 5.0]])
    vectors.arrange([(A, "ka"), (B, "kb"), (C, "kc")])
    return vectors


def test_nearest_ranks_by_cosine_and_leaves_out_the_skipped_file() -> None:
    vectors = _vectors()
    ranked = vectors.nearest([2.0, 0.1, 0.0], 3)
    assert [place for place, _ in ranked] == [A, B, C]
    assert ranked[0][1] == pytest.approx(0.9988, abs=1e-3)  # the length does not matter
    assert [place for place, _ in vectors.nearest([2.0, 0.1, 0.0], 3, skip="a.py")] == [B, C]
    assert vectors.nearest([0.0, 0.0, 1.0], 1) == [(C, pytest.approx(1.0))]


def test_a_query_of_another_width_finds_nothing() -> None:
    assert _vectors().nearest([1.0, 0.0], 3) == []


def test_chunks_without_a_vector_wait_and_unused_vectors_are_dropped() -> None:
    vectors = _vectors()
    vectors.arrange([(A, "ka"), (ChunkPlace("d.py", 0, 3), "kd")])
    assert vectors.searchable() == 1
    assert vectors.has("ka") and not vectors.has("kb") and not vectors.has("kd")
    vectors.add(["kd"], [[0.0, 1.0, 0.0]])
    vectors.arrange([(A, "ka"), (ChunkPlace("d.py", 0, 3), "kd")])
    assert [p.path for p, _ in vectors.nearest([0.0, 1.0, 0.0], 2)] == ["d.py", "a.py"]


def test_the_same_text_in_two_places_shares_one_vector() -> None:
    vectors = _vectors()
    twin = ChunkPlace("copy.py", 3, 13)
    vectors.arrange([(A, "ka"), (twin, "ka")])
    assert {place for place, _ in vectors.nearest([1.0, 0.0, 0.0], 2)} == {A, twin}
    assert content_key("x = 1\n") == content_key("x = 1\n") != content_key("x = 2\n")


def test_vectors_of_another_width_replace_the_old_ones() -> None:
    vectors = _vectors()
    vectors.add(["kz"], [[1.0, 1.0]])
    assert not vectors.has("ka") and vectors.dimensions == 2


def test_bad_vectors_are_refused() -> None:
    vectors = ChunkVectors("m")
    with pytest.raises(ValueError):
        vectors.add(["a", "b"], [[1.0, 2.0]])
    with pytest.raises(ValueError):
        vectors.add(["a"], [[float("nan"), 1.0]])


def test_saved_private_and_loaded_for_the_same_model_only(tmp_path: Path) -> None:
    storage = vectors_path(tmp_path / "cache" / "index" / "abc.json")
    assert storage.name == "abc.vectors"
    _vectors(storage).save()
    assert stat.S_IMODE(os.stat(storage).st_mode) == 0o600
    again = ChunkVectors("embed-small", storage)
    again.load()
    assert all(again.has(key) for key in ("ka", "kb", "kc"))
    again.arrange([(B, "kb")])
    assert [place for place, _ in again.nearest([0.6, 0.8, 0.0], 1)] == [B]
    other = ChunkVectors("embed-large", storage)
    other.load()
    assert not other.has("ka")


def test_a_damaged_file_is_ignored(tmp_path: Path) -> None:
    storage = tmp_path / "x.vectors"
    _vectors(storage).save()
    storage.write_bytes(storage.read_bytes()[:-3])
    vectors = ChunkVectors("embed-small", storage)
    vectors.load()
    assert not vectors.has("ka")


def _snippet(path: str, start: int = 0) -> Snippet:
    return Snippet(path, start, start + 10, f"# {path}\n", "search")


def test_fusion_prefers_what_both_rankings_hold() -> None:
    bm25 = [_snippet("x.py"), _snippet("both.py"), _snippet("y.py")]
    meaning = [_snippet("z.py"), _snippet("both.py")]
    assert [s.path for s in fused(bm25, meaning)] == ["both.py", "x.py", "z.py", "y.py"]


def test_fusion_of_one_ranking_keeps_its_order() -> None:
    bm25 = [_snippet("x.py"), _snippet("x.py", 10), _snippet("y.py")]
    assert fused(bm25, []) == bm25
