"""Code actions: a cheap list, the model call in resolve (or in the command for clients
that cannot resolve edits), "Fix with Aurelis" for diagnostics."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types
from tests.lsp.harness import (
    TIMEOUT,
    AurelisTestClient,
    apply_edit,
    capabilities,
    position_of,
    recorded_prompt,
)

from aurelis.testing import ModelServer, Reply

SELECTED = "def add(a, b):\n    return a + b\n"


def _params(
    uri: str,
    rng: types.Range,
    diagnostics: list[types.Diagnostic] | None = None,
    only: list[str] | None = None,
) -> types.CodeActionParams:
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=rng,
        context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
    )


def _selection(text: str, selected: str) -> types.Range:
    return types.Range(
        start=position_of(text, selected), end=position_of(text, selected, after=True)
    )


async def _actions(
    client: AurelisTestClient, params: types.CodeActionParams
) -> list[types.CodeAction]:
    return await client.code_actions(params)


async def test_listing_actions_costs_no_model_call(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")

    actions = await _actions(lsp, _params(uri, _selection(lsp.texts[uri], SELECTED)))

    titles = {action.title: action.kind for action in actions}
    assert titles == {
        "Refactor with Aurelis": "refactor.rewrite",
        "Optimize with Aurelis": "refactor.rewrite",
        "Add error handling with Aurelis": "refactor.rewrite",
        "Document with Aurelis": "refactor",
        "Generate tests with Aurelis": "refactor",
        "Explain with Aurelis": "refactor",
    }
    assert all(action.edit is None for action in actions)
    assert model.requests == []


async def test_an_empty_selection_offers_no_rewrite_and_only_filters(
    lsp: AurelisTestClient, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    cursor = position_of(lsp.texts[uri], "return a + b")

    everything = await _actions(lsp, _params(uri, types.Range(start=cursor, end=cursor)))
    only_refactor = await _actions(
        lsp, _params(uri, _selection(lsp.texts[uri], SELECTED), only=["refactor"])
    )

    only_source = await _actions(
        lsp, _params(uri, types.Range(start=cursor, end=cursor), only=["source"])
    )

    # Without a filter (the lightbulb) they are refactorings: editors hide source actions there.
    assert {a.kind for a in everything} == {"refactor"}
    assert {a.title: a.kind for a in only_source} == {
        "Document with Aurelis": "source",
        "Generate tests with Aurelis": "source",
        "Explain with Aurelis": "source",
    }
    assert {a.title for a in only_refactor} == {
        "Refactor with Aurelis",
        "Optimize with Aurelis",
        "Add error handling with Aurelis",
    }


async def test_resolve_asks_the_model_and_returns_a_versioned_edit(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    text = lsp.texts[uri]
    actions = await _actions(lsp, _params(uri, _selection(text, SELECTED)))
    optimize = next(a for a in actions if a.title == "Optimize with Aurelis")
    model.set_default("*", Reply(content="```python\ndef add(a, b):\n    return b + a\n```"))

    resolved = await asyncio.wait_for(lsp.code_action_resolve_async(optimize), TIMEOUT)

    assert len(model.requests) == 1
    assert resolved.edit is not None and resolved.edit.document_changes is not None
    [change] = resolved.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version == lsp.versions[uri]
    for edit in change.edits:
        text = apply_edit(text, edit)
    assert text == lsp.texts[uri].replace(SELECTED, "def add(a, b):\n    return b + a\n")


async def test_fix_with_aurelis_sends_the_diagnostics_in_range(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    text = lsp.texts[uri]
    problem = types.Diagnostic(
        range=_selection(text, "a / b"), message="possible division by zero", source="linter"
    )
    cursor = position_of(text, "a / b")
    actions = await _actions(lsp, _params(uri, types.Range(start=cursor, end=cursor), [problem]))
    fix = next(a for a in actions if a.title == "Fix with Aurelis")
    assert fix.kind == "quickfix" and list(fix.diagnostics or []) == [problem]
    model.set_default("*", Reply(content="```python\nresult = a / b if b else 0.0\n```"))

    resolved = await asyncio.wait_for(lsp.code_action_resolve_async(fix), TIMEOUT)

    assert "possible division by zero (linter)" in recorded_prompt(model)
    [change] = resolved.edit.document_changes
    for edit in change.edits:
        text = apply_edit(text, edit)
    assert "        result = a / b if b else 0.0\n        self.memory = result\n" in text


async def test_clients_without_resolve_get_commands_that_apply_the_edit(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(client_capabilities=capabilities(resolve=False))
    uri = lsp.open(project / "pkg" / "calc.py")
    actions = await _actions(lsp, _params(uri, _selection(lsp.texts[uri], SELECTED)))
    refactor = next(a for a in actions if a.title == "Refactor with Aurelis")
    assert refactor.command is not None and refactor.command.command == "aurelis.refactor"
    model.set_default("*", Reply(content="```python\ndef add(a, b):\n    return sum((a, b))\n```"))

    result = await lsp.command(refactor.command.command, *refactor.command.arguments)

    assert result == {"applied": True}
    assert "    return sum((a, b))\n" in lsp.texts[uri]
