"""Retrieval placed in the prompt of each dialect, on a real index of a real directory:
the embedded base model gets path-commented snippets ahead of the code, stable while the
user types on a line; chat prompts get a related-code section with paths."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurelis.lsp.context import ContextSources, ProjectCache, inline_context
from aurelis.lsp.inline.prompt import LocalInline, build_inline_request
from aurelis.lsp.inline.window import WindowLimits
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.indexes import IndexSettings, WorkspaceIndexes
from aurelis.lsp.workspace.retrieval import LineStableSnippets
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots

ROWS = "def normalize_invoice_rows(rows, currency):\n    return rows\n"
LOCAL = LocalInline(WindowLimits(64, 0, 400, 0), 1000, lambda text: len(text) // 3 + 1)


@pytest.fixture
def sources(tmp_path: Path) -> Iterator[ContextSources]:
    root = tmp_path / "repo"
    (root / "billing").mkdir(parents=True)
    (root / "billing" / "rows.py").write_text(ROWS)
    (root / "reports").mkdir()
    indexes = WorkspaceIndexes()
    indexes.start([root.resolve()], tmp_path / "cache", IndexSettings())
    deadline = time.monotonic() + 30
    while indexes.status()[str(root.resolve())]["state"] != "ready":
        assert time.monotonic() < deadline, "the index was not built"
        time.sleep(0.02)
    yield ContextSources(WorkspaceRoots([root]), list, ProjectCache(), indexes)
    indexes.stop()


def _document(sources: ContextSources, text: str) -> DocumentSnapshot:
    path = sources.roots.roots[0] / "reports" / "monthly.py"
    return DocumentSnapshot(path.as_uri(), str(path), "python", 1, text)


def _local_prompt(sources: ContextSources, text: str) -> str:
    request = build_inline_request(_document(sources, text), len(text), sources, 1536, local=LOCAL)
    assert request is not None
    return request.prompt


def test_the_base_model_gets_path_commented_definitions_ahead_of_the_code(
    sources: ContextSources,
) -> None:
    prompt = _local_prompt(sources, "import os\n\ntotals = normalize_inv")

    assert prompt.startswith("# billing/rows.py\ndef normalize_invoice_rows(rows, currency):")
    assert prompt.endswith("import os\n\ntotals = normalize_inv")


def test_the_snippets_stay_put_while_the_user_types_on_a_line(sources: ContextSources) -> None:
    head = "import os\n\ntotals = "
    first = _local_prompt(sources, head + "norm")
    typed_on = _local_prompt(sources, head + "normaliz")

    assert first.removesuffix(head + "norm") == typed_on.removesuffix(head + "normaliz")


def test_chat_prompts_get_a_related_code_section_with_paths(sources: ContextSources) -> None:
    text = "totals = normalize_inv"
    context = inline_context(_document(sources, text), len(text), sources, 1000)

    assert context["related_code"].startswith("### billing/rows.py:1-2\n")
    assert "def normalize_invoice_rows(rows, currency):" in context["related_code"]


def test_without_an_index_nothing_is_added(tmp_path: Path) -> None:
    bare = ContextSources(WorkspaceRoots([tmp_path]), list, ProjectCache())
    text = "totals = normalize_inv"

    assert _local_prompt(bare, text) == text


def test_fill_in_the_middle_gets_path_commented_snippets_ahead_of_the_prefix(
    sources: ContextSources,
) -> None:
    from aurelis.models.providers.fim import FIM_METADATA_KEY

    text = "totals = normalize_inv"
    request = build_inline_request(
        _document(sources, text), len(text), sources, 1536, local=None, fim=True
    )

    assert request is not None and request.metadata is not None
    fim = request.metadata[FIM_METADATA_KEY]
    assert fim["related"].startswith("# billing/rows.py\ndef normalize_invoice_rows(")
    assert fim["prefix"] == text and fim["suffix"] == ""
    # The same snippets as pieces, for llama.cpp's `/infill` `input_extra`.
    assert fim["extra"] == [["billing/rows.py", ROWS]]


def _with_edits(sources: ContextSources, *documents: DocumentSnapshot) -> ContextSources:
    """Sources whose open documents are `documents`, each edited at its last line."""
    from dataclasses import replace

    from aurelis.lsp.workspace.recent_edits import RecentEdits

    ring = RecentEdits()
    for document in documents:
        ring.edited(document.uri, document.text.count("\n"))
    by_uri = {document.uri: document for document in documents}
    return replace(sources, recent=ring, open_document=by_uri.get)


def test_code_just_written_in_another_open_file_reaches_the_prompt(
    sources: ContextSources,
) -> None:
    # Not saved, so no index has it yet: the recent-edits ring does.
    path = sources.roots.roots[0] / "billing" / "taxes.py"
    taxes = "def apply_regional_tax(amount, region):\n    return amount * RATES[region]\n"
    edited = _with_edits(sources, DocumentSnapshot(path.as_uri(), str(path), "python", 3, taxes))
    text = "total = apply_reg"

    local = _local_prompt(edited, text)
    chat = inline_context(_document(edited, text), len(text), edited, 1000)["related_code"]

    assert "# billing/taxes.py\ndef apply_regional_tax(amount, region):" in local
    assert "### billing/taxes.py:1-2\ndef apply_regional_tax(amount, region):" in chat


def test_recent_edits_outside_the_folder_or_in_secret_files_stay_out(
    sources: ContextSources, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "other-project" / "keys.py"
    env = sources.roots.roots[0] / ".env"
    documents = [
        DocumentSnapshot(elsewhere.as_uri(), str(elsewhere), "python", 1, "OTHER_MARKER = 1\n"),
        DocumentSnapshot(env.as_uri(), str(env), "dotenv", 1, "ENV_MARKER=1\n"),
    ]
    edited = _with_edits(sources, *documents)
    text = "total = 1\n"

    local = _local_prompt(edited, text)

    assert "OTHER_MARKER" not in local and "ENV_MARKER" not in local


def test_a_long_definition_sends_its_head_when_it_does_not_fit_whole(
    sources: ContextSources,
) -> None:
    # The index's chunks and definitions run to dozens of lines, far over the base model's
    # allowance; its signature and first lines are what helps the line being written.
    body = "".join(f"    step_{n} = rows[{n}] * rate  # convert row {n}\n" for n in range(80))
    long = "def convert_ledger_rows(rows, rate):\n    '''Rows in the ledger currency.'''\n"
    sources.indexes.saved(str(sources.roots.roots[0] / "billing" / "ledger.py"), long + body)
    text = "totals = convert_ledger"

    prompt = _local_prompt(sources, text)
    related = prompt.removesuffix(text)

    assert related.startswith("# billing/ledger.py\ndef convert_ledger_rows(rows, rate):\n")
    assert "step_3 = rows[3]" in related and "step_79" not in related
    assert LOCAL.count_tokens(related) <= LOCAL.related_tokens


def test_the_base_model_sees_its_own_file_beyond_the_window(
    sources: ContextSources,
) -> None:
    # The window holds the last few hundred tokens; a helper defined far above them in the
    # same file is invisible without retrieval, and the window's own lines never repeat.
    head = "def resolve_ledger_account(code):\n    return ACCOUNTS[code]\n\n\n"
    filler = "".join(f"value_{n} = compute_value({n}, scale=2.5)\n" for n in range(300))
    cursor = "account = resolve_ledger"
    own = _document(sources, head + filler + cursor)
    assert own.path is not None
    sources.indexes.saved(own.path, head + filler)

    request = build_inline_request(own, len(own.text), sources, 1536, local=LOCAL)

    assert request is not None
    related, _, code = request.prompt.partition("value_")
    assert related.startswith("# reports/monthly.py\ndef resolve_ledger_account(code):")
    assert "value_299 = compute_value(299" in request.prompt
    assert "value_299" not in related and "def resolve_ledger_account" not in code


def test_chat_prompts_still_leave_their_own_file_out(sources: ContextSources) -> None:
    helper = "def resolve_ledger_account(code):\n    return ACCOUNTS[code]\n\n\n"
    own = _document(sources, helper + "account = resolve_ledger")
    assert own.path is not None
    sources.indexes.saved(own.path, helper)

    context = inline_context(own, len(own.text), sources, 1000)

    assert "reports/monthly.py" not in context.get("related_code", "")


def _save_ledger(sources: ContextSources) -> None:
    """billing/ledger.py, indexed: a chunk about ledger entries, defining one function."""
    ledger = "def ledger_balance_total(entries):\n    return sum(e.amount for e in entries)\n"
    sources.indexes.saved(str(sources.roots.roots[0] / "billing" / "ledger.py"), ledger)


def test_search_hits_stay_put_while_the_line_is_typed_and_definitions_sit_nearest_the_code(
    sources: ContextSources,
) -> None:
    # A chunk like the lines before the cursor (a search hit) and, once its name is typed,
    # a definition: the hit is chosen from the lines before the cursor's line, so typing on
    # the line leaves it (and the model's cached prompt start) alone; the definition comes
    # after it, nearest the code.
    _save_ledger(sources)
    head = "entries = load_ledger_entries()\nfor e in entries:\n    print(e.amount)\n\n"

    start = _local_prompt(sources, head + "x = ")
    typing = _local_prompt(sources, head + "x = ledger_bal")

    hit = "# billing/ledger.py\n"
    assert start.startswith(hit)
    assert "# billing/rows.py" not in start
    definition = "# billing/ledger.py\ndef ledger_balance_total(entries):"
    assert typing.startswith(definition)  # the same chunk: it is shown once
    typed = _local_prompt(sources, head + "x = normalize_inv")
    assert typed.startswith(start.removesuffix(head + "x = "))  # the hit's part is kept
    assert typed.index("# billing/rows.py") > typed.index("# billing/ledger.py")


def test_the_base_models_related_code_holds_while_its_window_start_does(
    sources: ContextSources,
) -> None:
    # Reading a prompt again costs the embedded model seconds on two cores: moving on to
    # the next lines of the same window keeps the snippets ahead of it (a window start
    # that moves re-reads the prompt anyway, and may change them).
    _save_ledger(sources)
    head = "entries = load_ledger_entries()\n"
    first = _local_prompt(sources, head + "x = 1\n")
    later = _local_prompt(sources, head + "x = 1\nrows = load_invoice_rows()\ny = 2\n")
    filler = "x = 1  # a long line that fills the window's token allowance quickly\n" * 20
    moved = _local_prompt(sources, head + filler + "rows = load_invoice_rows()\n")

    related = first.removesuffix(head + "x = 1\n")
    assert related.startswith("# billing/ledger.py\n")
    assert later.startswith(related + head)  # the invoice rows do not displace it
    assert moved.startswith("# billing/rows.py\n")  # a new window asks again
    assert "entries = load_ledger_entries()" not in moved  # (it starts further down)


def test_a_file_merely_opened_is_context_for_chat_but_not_for_the_base_models_window(
    sources: ContextSources,
) -> None:
    from dataclasses import replace

    from aurelis.lsp.workspace.recent_edits import RecentEdits

    path = sources.roots.roots[0] / "billing" / "taxes.py"
    taxes = DocumentSnapshot(path.as_uri(), str(path), "python", 1, "TAX_TABLE_MARKER = {}\n")
    ring = RecentEdits()
    ring.opened(taxes.uri)
    opened = replace(sources, recent=ring, open_document={taxes.uri: taxes}.get)
    text = "total = 1\n"

    chat = inline_context(_document(opened, text), len(text), opened, 1000)["related_code"]

    assert "TAX_TABLE_MARKER" in chat
    assert "TAX_TABLE_MARKER" not in _local_prompt(opened, text)
    ring.edited(taxes.uri, 0)  # once edited there, it is worth the tokens
    # (in a window of its own: the snippets of this one hold while its start does)
    fresh = replace(opened, line_snippets=LineStableSnippets())
    assert "TAX_TABLE_MARKER" in _local_prompt(fresh, text)
