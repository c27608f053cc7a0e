"""Turning an action's result (a `Replacement` or a `NewFileEdit`) into a workspace edit,
either applied now (commands) or returned to the client (code-action resolve).

Only the pygls server (to talk to the client) and the workspace roots (where test files
may go) are needed, not the Aurelis server's state."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer

from aurelis.lsp.actions.catalog import NewFileEdit, Replacement
from aurelis.lsp.actions.edits import (
    EditOutcome,
    apply_document_edits,
    apply_workspace_edit,
    minimal_edits,
)
from aurelis.lsp.actions.generated_tests import ensure_inside_workspace
from aurelis.lsp.errors import RequestFailed
from aurelis.lsp.workspace.documents import DocumentSnapshot, position_at, snapshot
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots, read_text_file

__all__ = ["apply_change", "workspace_edit_for", "command_result"]


def command_result(outcome: EditOutcome) -> dict[str, Any]:
    """The `{applied, message?}` object edit commands return."""
    result: dict[str, Any] = {"applied": outcome.applied}
    if outcome.message:
        result["message"] = outcome.message
    return result


async def apply_change(
    ls: LanguageServer,
    roots: WorkspaceRoots,
    document: DocumentSnapshot,
    change: Replacement | NewFileEdit,
    title: str,
) -> EditOutcome:
    """Apply `change` to the workspace; the document must still be at `document.version`."""
    action = title.lower()
    if isinstance(change, Replacement):
        edits = minimal_edits(document, change.start, change.end, change.text)
        return await apply_document_edits(ls, document.uri, document.version, edits, action)
    edit = _new_file_edit(ls, roots, change)
    outcome = await apply_workspace_edit(ls, edit, action)
    if outcome.applied:
        where = roots.relative(change.target.path)
        return EditOutcome(True, f"Aurelis: tests written to {where}")
    return outcome


def workspace_edit_for(
    ls: LanguageServer,
    roots: WorkspaceRoots,
    document: DocumentSnapshot,
    change: Replacement | NewFileEdit,
) -> types.WorkspaceEdit:
    """The edit a resolved code action carries (versioned, so a stale one is refused)."""
    if isinstance(change, NewFileEdit):
        return _new_file_edit(ls, roots, change)
    edits = minimal_edits(document, change.start, change.end, change.text)
    identifier = types.OptionalVersionedTextDocumentIdentifier(
        uri=document.uri, version=document.version
    )
    if _document_changes(ls):
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=edits)]
        )
    return types.WorkspaceEdit(changes={document.uri: edits})


def _document_changes(ls: LanguageServer) -> bool:
    capabilities = ls.client_capabilities
    return get_capability(capabilities, "workspace.workspace_edit.document_changes", False)


def _can_create_files(ls: LanguageServer) -> bool:
    capabilities = ls.client_capabilities
    operations = get_capability(capabilities, "workspace.workspace_edit.resource_operations", [])
    return _document_changes(ls) and types.ResourceOperationKind.Create in operations


def _new_file_edit(
    ls: LanguageServer, roots: WorkspaceRoots, change: NewFileEdit
) -> types.WorkspaceEdit:
    target = change.target
    ensure_inside_workspace(target.path, roots)  # checked again: links may have changed
    opened = snapshot(ls.workspace, target.uri)
    if opened is not None:
        return _append(ls, target.uri, opened.text, opened.version, change.text, opened.encoding)
    if target.path.exists():
        existing = read_text_file(target.path, roots)
        if existing is None:
            raise RequestFailed(
                f"Aurelis: cannot append to {target.path.name}: open it in the editor first"
            )
        return _append(ls, target.uri, existing, None, change.text, "utf-16")
    if not _can_create_files(ls):
        raise RequestFailed(
            f"Aurelis: this editor cannot create files; create {target.path.name} and run again"
        )
    insert = types.TextEdit(
        range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
        ),
        new_text=change.text,
    )
    return types.WorkspaceEdit(
        document_changes=[
            types.CreateFile(
                uri=target.uri, options=types.CreateFileOptions(ignore_if_exists=True)
            ),
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=target.uri, version=None
                ),
                edits=[insert],
            ),
        ]
    )


def _append(
    ls: LanguageServer,
    uri: str,
    existing: str,
    version: int | None,
    text: str,
    encoding: str,
) -> types.WorkspaceEdit:
    end = position_at(existing, len(existing), encoding)
    separator = "" if not existing else ("\n\n" if existing.endswith("\n") else "\n\n\n")
    edit = types.TextEdit(range=types.Range(start=end, end=end), new_text=separator + text)
    if _document_changes(ls):
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=[edit])]
        )
    return types.WorkspaceEdit(changes={uri: [edit]})
