"""The language server's pure parts, one behaviour each: positions, post-processing,
minimal edits, the forwarding cache, token budgets, symbols and safe file reading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lsprotocol import types
from tests.lsp.harness import apply_edit

from aurelis.lsp.actions.edits import minimal_edits
from aurelis.lsp.budget import fit_head, fit_tail
from aurelis.lsp.context import ContextSources, ProjectCache
from aurelis.lsp.inline.cache import CompletionCache
from aurelis.lsp.inline.prompt import LocalInline, build_inline_request
from aurelis.lsp.inline.window import WindowLimits
from aurelis.lsp.postprocess import clean_inline, extract_code, reindent, restore_secrets
from aurelis.lsp.symbols import enclosing_definition, enclosing_header, imported_paths
from aurelis.lsp.workspace.documents import DocumentSnapshot, offset_at, position_at
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots, list_tree, read_text_file
from aurelis.models.tokens import count_tokens


def _position(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


# --- positions ----------------------------------------------------------------------------


def test_positions_count_utf16_units() -> None:
    text = "a😀b\nxyz"
    assert offset_at(text, _position(0, 3)) == 2  # the emoji is two UTF-16 units
    assert position_at(text, 2) == _position(0, 3)
    assert offset_at(text, _position(0, 3), "utf-32") == 3


def test_positions_past_the_end_clamp_to_the_line_or_the_document() -> None:
    text = "short\nline two\n"
    assert offset_at(text, _position(0, 99)) == 5
    assert offset_at(text, _position(42, 0)) == len(text)
    assert offset_at("a\r\nb", _position(0, 5)) == 1  # never inside the line break


# --- post-processing ----------------------------------------------------------------------


def test_extract_code_takes_the_fenced_block_and_drops_the_chatter() -> None:
    answer = "Sure! Here it is:\n```python\ndef f():\n    return 1\n```\nHope this helps."
    assert extract_code(answer) == "def f():\n    return 1"


def test_extract_code_keeps_a_block_cut_off_at_max_tokens() -> None:
    assert extract_code("```python\ndef f():\n    return") == "def f():\n    return"


def test_reindent_moves_code_to_the_target_indentation() -> None:
    assert reindent("    if x:\n        y()\n", "  ") == "  if x:\n      y()\n"


def test_inline_drops_the_echoed_line_prefix() -> None:
    assert clean_inline("return a + b", "def f(a, b):\n    return ", "\n") == "a + b"


def test_inline_mid_line_is_one_line_without_the_repeated_suffix() -> None:
    assert clean_inline("x, y)\nmore()", "call(", ")\n") == "x, y"


def test_inline_after_a_statement_stays_on_one_line() -> None:
    assert clean_inline("  # done\nprint(1)", "total = 3", "\n") == "  # done"


def test_inline_at_a_block_start_continues_on_indented_lines() -> None:
    assert clean_inline("return 1", "def f():", "\n") == "return 1"
    assert clean_inline("\nreturn 1", "    def f():", "\n") == "\n        return 1"


def test_inline_stops_where_the_code_after_the_cursor_begins() -> None:
    answer = "a = 1\nb = 2\nprint(a, b)\nprint('again')"
    assert clean_inline(answer, "def main():\n    ", "\n    print(a, b)\n") == "a = 1\n    b = 2"


def test_restore_secrets_puts_back_lines_the_model_kept() -> None:
    original = 'def f():\n    key = "ghp_0123456789abcdefghij0123456789abcd"\n    return key\n'
    answer = 'def f():\n    key = "[REDACTED]"\n    return key.strip()'
    assert restore_secrets(answer, original) == (
        'def f():\n    key = "ghp_0123456789abcdefghij0123456789abcd"\n    return key.strip()'
    )


def test_restore_secrets_refuses_a_changed_secret_line() -> None:
    original = 'key = "ghp_0123456789abcdefghij0123456789abcd"\n'
    assert restore_secrets('secret_key = "[REDACTED]"', original) is None


# --- edits --------------------------------------------------------------------------------


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


# --- forwarding cache ---------------------------------------------------------------------


def test_cache_answers_typing_along_and_nothing_else() -> None:
    cache = CompletionCache()
    cache.store("file:///a.py", "x = ", "\n", "compute(1)")
    assert cache.lookup("file:///a.py", "x = ", "\n") == "compute(1)"
    assert cache.lookup("file:///a.py", "x = comp", "\n") == "ute(1)"
    assert cache.lookup("file:///a.py", "x = cat", "\n") is None
    assert cache.lookup("file:///a.py", "x = comp", "\nnew line") is None
    assert cache.lookup("file:///b.py", "x = comp", "\n") is None
    assert cache.lookup("file:///a.py", "x = compute(1)", "\n") is None


def test_cache_notices_a_change_far_before_the_cursor() -> None:
    cache = CompletionCache()
    prefix = "import os\n" + "pass\n" * 50 + "x = "
    cache.store("file:///a.py", prefix, "", "1")
    assert cache.lookup("file:///a.py", prefix.replace("os", "re"), "") is None


# --- budgets ------------------------------------------------------------------------------


def test_fit_tail_keeps_the_end_within_budget_from_a_line_start() -> None:
    text = "".join(f"line_{i} = value_{i} * 2\n" for i in range(2000))
    kept = fit_tail(text, 100)
    assert count_tokens(kept) <= 100
    assert text.endswith(kept) and kept.startswith("line_")


def test_fit_head_keeps_the_start_within_budget_to_a_line_end() -> None:
    text = "".join(f"line_{i} = value_{i} * 2\n" for i in range(2000))
    kept = fit_head(text, 100)
    assert count_tokens(kept) <= 100
    assert text.startswith(kept) and kept.endswith("\n")


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


# --- symbols ------------------------------------------------------------------------------

PYTHON = (
    "import os\n\n\nclass Box:\n    @property\n    def size(\n        self,\n    ) -> int:\n"
    '        """Old doc."""\n        return 1\n\n    other = 2\n'
)


def test_enclosing_python_definition_spans_decorators_and_signature() -> None:
    found = enclosing_definition(PYTHON, PYTHON.index("return 1"), "python")
    assert found is not None and found.name == "size"
    assert PYTHON[found.start : found.header_end] == (
        "    @property\n    def size(\n        self,\n    ) -> int:\n"
    )
    assert found.docstring is not None
    assert PYTHON[found.docstring[0] : found.docstring[1]] == '        """Old doc."""\n'


def test_enclosing_braced_definition_matches_braces() -> None:
    code = "function a() {\n  if (x) {\n    y();\n  }\n}\nfunction b() {}\n"
    found = enclosing_definition(code, code.index("y();"), "javascript")
    assert found is not None and found.name == "a"
    assert code[found.start : found.end] == "function a() {\n  if (x) {\n    y();\n  }\n}\n"


def test_enclosing_header_is_found_by_indentation() -> None:
    assert enclosing_header(PYTHON, PYTHON.index("return 1"), "python") == "def size("
    assert enclosing_header(PYTHON, PYTHON.index("other"), "python") == "class Box:"


def test_imported_paths_resolve_relative_and_absolute_modules(tmp_path: Path) -> None:
    source = "from . import util\nfrom pkg.core import run\nimport json\n"
    paths = imported_paths(source, "python", tmp_path / "pkg" / "main.py", [tmp_path])
    assert tmp_path / "pkg" / "util.py" in paths
    assert tmp_path / "pkg" / "core.py" in paths
    assert tmp_path / "json.py" in paths


# --- safe reading -------------------------------------------------------------------------


def test_read_text_file_refuses_links_out_env_binary_and_huge(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "x.py").write_text("X = 1\n")
    os.symlink(outside / "x.py", root / "link.py")
    (root / ".env").write_text("A=1\n")
    (root / "bin.py").write_bytes(b"\x00\x01")
    (root / "big.py").write_text("x" * 300_000)
    (root / "ok.py").write_text("OK = 1\n")
    roots = WorkspaceRoots([root])

    assert read_text_file(root / "ok.py", roots) == "OK = 1\n"
    for refused in ("link.py", ".env", "bin.py", "big.py", "missing.py"):
        assert read_text_file(root / refused, roots) is None, refused
    assert read_text_file(outside / "x.py", roots) is None


def test_tree_listing_respects_gitignore_and_the_deadline(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("out/\n*.log\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "src" / "deep" / ".gitignore").write_text("local.py\n")
    (tmp_path / "src" / "deep" / "local.py").write_text("")
    (tmp_path / "src" / "deep" / "kept.py").write_text("")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "gen.py").write_text("")
    (tmp_path / "run.log").write_text("")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("")

    listing = list_tree(tmp_path, deadline=float("inf"))
    expired = list_tree(tmp_path, deadline=0.0)

    assert listing.complete
    assert set(listing.entries) == {".gitignore", "src/deep/.gitignore", "src/deep/kept.py"}
    assert not expired.complete and expired.entries == ()


@pytest.mark.parametrize("name", [".env", ".env.local", "prod.env"])
def test_env_files_are_never_listed(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("A=1\n")
    assert list_tree(tmp_path, deadline=float("inf")).entries == ()
