"""The recent-edits ring: one place per region edited, newest first, cut from the current
text of open documents only."""

from __future__ import annotations

from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.recent_edits import RecentEdits


def _document(name: str, lines: int) -> DocumentSnapshot:
    text = "".join(f"{name}_{number} = {number}\n" for number in range(lines))
    return DocumentSnapshot(f"file:///w/{name}.py", f"/w/{name}.py", "python", 1, text)


def test_edits_near_each_other_are_one_place_and_the_newest_comes_first() -> None:
    alpha, beta = _document("alpha", 200), _document("beta", 200)
    ring = RecentEdits()
    ring.edited(alpha.uri, 100)
    ring.edited(beta.uri, 10)
    ring.edited(alpha.uri, 104)  # typing on near line 100: the same place, now newest
    opened = {alpha.uri: alpha, beta.uri: beta}

    chunks = ring.chunks(opened.get, skip_uri="file:///w/current.py")

    assert [(chunk.uri, chunk.start) for chunk in chunks] == [(alpha.uri, 92), (beta.uri, 0)]
    assert chunks[0].text.startswith("alpha_92 = 92\n") and "alpha_104 = 104" in chunks[0].text
    assert chunks[0].end - chunks[0].start == 24


def test_the_current_document_and_closed_ones_give_nothing() -> None:
    alpha, beta = _document("alpha", 30), _document("beta", 30)
    ring = RecentEdits()
    ring.edited(alpha.uri, 5)
    ring.edited(beta.uri, 5)
    ring.opened("file:///w/closed.py")

    chunks = ring.chunks({alpha.uri: alpha, beta.uri: beta}.get, skip_uri=alpha.uri)
    assert [chunk.uri for chunk in chunks] == [beta.uri]

    ring.forget(beta.uri)
    assert ring.chunks({alpha.uri: alpha}.get, skip_uri="file:///w/x.py")[0].uri == alpha.uri


def test_the_ring_keeps_the_latest_sixteen_places() -> None:
    documents = {f"file:///w/d{n}.py": _document(f"d{n}", 5) for n in range(20)}
    ring = RecentEdits()
    for uri in documents:
        ring.edited(uri, 1)
    ring.opened("file:///w/d0.py")  # fell out; an open does not push out an edit

    chunks = ring.chunks(documents.get, skip_uri="", limit=20)

    assert [chunk.uri for chunk in chunks][:2] == ["file:///w/d19.py", "file:///w/d18.py"]
    assert len(chunks) == 16 and chunks[-1].uri == "file:///w/d4.py"
