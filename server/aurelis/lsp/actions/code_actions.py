"""`textDocument/codeAction` and `codeAction/resolve`.

Listing costs no model call: each action carries the command arguments in `data`. The
model is asked in resolve (clients that resolve the `edit` property) or when the client
runs the action's command (clients that do not). Kinds: `refactor.rewrite` for the rewrite
actions, `quickfix` for "Fix with Aurelis" on the diagnostics in range. Documentation, tests
and explanations are `source` when the client asks for source actions (VS Code's "Source
Action…") and plain `refactor` otherwise: editors leave source actions out of the lightbulb,
which is where users look for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcContentModified

from aurelis.lsp.actions.arguments import parse_arguments
from aurelis.lsp.actions.catalog import ACTIONS, READ_ONLY, Markdown
from aurelis.lsp.actions.change_request import StaleDocument, request_change, stale
from aurelis.lsp.actions.changes import workspace_edit_for
from aurelis.lsp.diagnostics import diagnostics_lines
from aurelis.lsp.protocol.lsp_any import plain
from aurelis.lsp.server_state import AurelisLanguageServer
from aurelis.lsp.workspace.documents import is_at_version, snapshot

__all__ = ["KINDS", "list_actions", "resolve_action", "register"]

KINDS = [
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Refactor,
    types.CodeActionKind.Source,
    types.CodeActionKind.QuickFix,
]
# (action, title, kind, only for a non-empty selection)
_OFFERED = (
    ("refactor", "Refactor with Aurelis", types.CodeActionKind.RefactorRewrite, True),
    ("optimize", "Optimize with Aurelis", types.CodeActionKind.RefactorRewrite, True),
    (
        "addErrorHandling",
        "Add error handling with Aurelis",
        types.CodeActionKind.RefactorRewrite,
        True,
    ),
    ("document", "Document with Aurelis", types.CodeActionKind.Source, False),
    ("generateTests", "Generate tests with Aurelis", types.CodeActionKind.Source, False),
    ("explain", "Explain with Aurelis", types.CodeActionKind.Source, False),
)
_FIX_TITLE = "Fix with Aurelis"


def _resolves_edits(ls: AurelisLanguageServer) -> bool:
    capabilities = ls.client_capabilities
    resolvable = get_capability(
        capabilities, "text_document.code_action.resolve_support.properties", []
    )
    carries_data = get_capability(capabilities, "text_document.code_action.data_support", False)
    return "edit" in resolvable and carries_data


def _arguments(
    uri: str, rng: types.Range, version: int | None, instruction: str | None = None
) -> dict[str, Any]:
    args: dict[str, Any] = {
        "uri": uri,
        "range": _range_json(rng),
        "position": _position_json(rng.end),
        "version": version,
    }
    if instruction:
        args["instruction"] = instruction
    return args


def _position_json(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def _range_json(rng: types.Range) -> dict[str, Any]:
    return {"start": _position_json(rng.start), "end": _position_json(rng.end)}


def _action(
    ls: AurelisLanguageServer,
    name: str,
    title: str,
    kind: str,
    args: dict[str, Any],
    diagnostics: Sequence[types.Diagnostic] | None = None,
) -> types.CodeAction:
    action = types.CodeAction(
        title=title, kind=kind, diagnostics=list(diagnostics) if diagnostics else None
    )
    if _resolves_edits(ls) and name not in READ_ONLY:
        action.data = {"action": name, "arguments": args}
    else:
        action.command = types.Command(title=title, command=f"aurelis.{name}", arguments=[args])
    return action


def list_actions(
    ls: AurelisLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction]:
    """The cheap list: no model call, no parsing."""
    document = snapshot(ls.workspace, params.text_document.uri)
    if document is None or document.is_secret_file:
        return []
    ls.remember_diagnostics(document.uri, params.context.diagnostics)
    selected = params.range.start != params.range.end
    args = _arguments(document.uri, params.range, document.version)
    only = params.context.only
    actions = [
        _action(ls, name, title, _listed_kind(kind, only), args)
        for name, title, kind, needs_selection in _OFFERED
        if selected or not needs_selection
    ]
    if params.context.diagnostics:
        actions.append(_fix_action(ls, document.uri, document.version, params))
    return [action for action in actions if _wanted(action.kind, params.context.only)]


def _fix_action(
    ls: AurelisLanguageServer, uri: str, version: int | None, params: types.CodeActionParams
) -> types.CodeAction:
    diagnostics = list(params.context.diagnostics)
    ranges = [params.range, *(d.range for d in diagnostics)]
    # Whole lines: a fix rewrites statements, not the fragment a linter underlined.
    start = types.Position(line=min(r.start.line for r in ranges), character=0)
    end = types.Position(line=max(r.end.line for r in ranges) + 1, character=0)
    problems = "; ".join(diagnostics_lines(diagnostics))
    instruction = f"Fix these problems: {problems}"
    args = _arguments(uri, types.Range(start=start, end=end), version, instruction)
    return _action(ls, "refactor", _FIX_TITLE, types.CodeActionKind.QuickFix, args, diagnostics)


def _listed_kind(kind: str, only: Sequence[str] | None) -> str:
    """A source action listed without a filter (the lightbulb) goes as `refactor`."""
    if kind == types.CodeActionKind.Source and not only:
        return types.CodeActionKind.Refactor
    return kind


def _wanted(kind: str | None, only: Sequence[str] | None) -> bool:
    if not only:
        return True
    return any(kind == wanted or (kind or "").startswith(f"{wanted}.") for wanted in only)


async def resolve_action(ls: AurelisLanguageServer, action: types.CodeAction) -> types.CodeAction:
    """Fill in the action's edit: this is where the model is asked."""
    data = plain(action.data)
    if not isinstance(data, Mapping) or data.get("action") not in ACTIONS:
        return action
    name = str(data["action"])
    args = parse_arguments(f"aurelis.{name}", (data.get("arguments"),))
    try:
        async with request_change(ls, name, args, action.diagnostics or []) as requested:
            document, change = requested.document, requested.change
        if isinstance(change, Markdown):
            return action
        if not is_at_version(ls.workspace, document.uri, document.version):
            raise stale(ls, name)
    except StaleDocument as error:
        raise JsonRpcContentModified(message=error.message) from None
    action.edit = workspace_edit_for(ls, ls.sources.roots, document, change)
    return action


def register(ls: AurelisLanguageServer) -> None:
    """Register code actions and their resolve on `ls`."""

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        return list_actions(ls, params)

    @ls.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(params: types.CodeAction) -> types.CodeAction:
        return await resolve_action(ls, params)
