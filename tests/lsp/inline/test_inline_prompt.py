"""The inline prompt: the budget shared around the cursor, and the local model's plain
continuation."""

from __future__ import annotations

from pathlib import Path

from aurelis.lsp.context import ContextSources, ProjectCache
from aurelis.lsp.inline.prompt import LocalInline, build_inline_request
from aurelis.lsp.inline.window import WindowLimits
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots
from aurelis.models.tokens import count_tokens


def test_inline_prompt_shares_the_budget_and_marks_the_cursor(tmp_path: Path) -> None:
    text = "".join(f"value_{i} = compute(value_{i - 1})\n" for i in range(3000))
    offset = len(text) // 2
    document = DocumentSnapshot("file:///big.py", str(tmp_path / "big.py"), "python", 1, text)
    sources = ContextSources(WorkspaceRoots([tmp_path]), lambda: [document], ProjectCache())

    request = build_inline_request(document, offset, sources, 1000, local=None)

    assert request is not None
    _, before, after = request.prompt.split("<|CURSOR|>")  # named once in the instructions
    assert 400 <= count_tokens(before) <= 640  # the prefix: up to 60 % (plus instructions)
    assert count_tokens(after) <= 210  # the suffix: up to 20 %


def test_local_model_gets_a_plain_continuation_of_the_prefix(tmp_path: Path) -> None:
    text = "def add(a, b):\n    return "
    document = DocumentSnapshot("file:///a.py", str(tmp_path / "a.py"), "python", 1, text)
    sources = ContextSources(WorkspaceRoots([tmp_path]), lambda: [document], ProjectCache())

    local = LocalInline(WindowLimits(64, 0, 320, 0), 1000, lambda chunk: len(chunk) // 2)
    request = build_inline_request(document, len(text), sources, 1000, local=local)

    assert request is not None and request.prompt == text and request.context is None
