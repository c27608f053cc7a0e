"""Minimal edits: only the lines (and characters) that changed are sent to the editor."""

from __future__ import annotations

from tests.lsp.harness import apply_edit

from aurelis.lsp.actions.edits import minimal_edits
from aurelis.lsp.workspace.documents import DocumentSnapshot


def test_minimal_edits_touch_only_changed_lines() -> None:
    text = "one\ntwo\nthree\nfour\n"
    document = DocumentSnapshot("file:///t.py", "/t.py", "python", 1, text)
    edits = minimal_edits(document, 0, len(text), "one\n2\nthree\nfour\nfive\n")
    result = text
    for edit in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        result = apply_edit(result, edit)
    assert result == "one\n2\nthree\nfour\nfive\n"
    assert [(e.range.start.line, e.new_text) for e in edits] == [(1, "2"), (4, "five\n")]
