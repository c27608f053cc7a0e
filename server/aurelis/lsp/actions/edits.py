"""Minimal text edits, applied through `workspace/applyEdit` only to the version they were
computed for.

An edit is a claim about a specific text; if the user typed while the model was thinking,
the claim is false and applying it would corrupt the buffer. The server checks the
version before sending, and sends a versioned `TextDocumentEdit` so the client checks too.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.capabilities import get_capability

from aurelis.core.log import log_event
from aurelis.lsp.workspace.documents import DocumentSnapshot, is_at_version, snapshot

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

__all__ = ["EditOutcome", "minimal_edits", "apply_document_edits", "apply_workspace_edit"]

logger = logging.getLogger("aurelis.lsp.actions.edits")
_APPLY_TIMEOUT = 60.0


@dataclass(frozen=True)
class EditOutcome:
    """What became of an edit: applied, or why not (shown to the user)."""

    applied: bool
    message: str | None = None


def minimal_edits(
    document: DocumentSnapshot, start: int, end: int, new_text: str
) -> list[types.TextEdit]:
    """Edits turning `document.text[start:end]` into `new_text`, touching only what changed.

    Lines are diffed first, then each changed hunk is trimmed to the characters that differ,
    so unchanged lines keep their position (and the user's cursor, folds and marks).
    """
    old_lines = document.text[start:end].splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    offsets = [start]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(_trimmed_edit(document, offsets[i1], offsets[i2], "".join(new_lines[j1:j2])))
    return edits


def _trimmed_edit(
    document: DocumentSnapshot, start: int, end: int, replacement: str
) -> types.TextEdit:
    old = document.text[start:end]
    head = _common_prefix(old, replacement)
    tail = _common_prefix(old[head:][::-1], replacement[head:][::-1])
    return types.TextEdit(
        range=types.Range(start=document.position(start + head), end=document.position(end - tail)),
        new_text=replacement[head : len(replacement) - tail],
    )


def _common_prefix(a: str, b: str) -> int:
    size = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        size += 1
    return size


def stale_message(action: str) -> str:
    return (
        f"Aurelis: the document changed while {action} was running, so its result was not "
        "applied. Run it again."
    )


async def apply_document_edits(
    ls: LanguageServer,
    uri: str,
    version: int | None,
    edits: list[types.TextEdit],
    action: str,
) -> EditOutcome:
    """Apply `edits` to `uri` if it is still at `version`; tell the user if it is not."""
    if not is_at_version(ls.workspace, uri, version):
        current = snapshot(ls.workspace, uri)
        message = stale_message(action)
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=message)
        )
        log_event(
            logger,
            "edit_dropped",
            uri=uri,
            expected=version,
            current=current.version if current else None,
        )
        return EditOutcome(False, message)
    if not edits:
        return EditOutcome(False, f"Aurelis: {action} found nothing to change.")
    capabilities = ls.client_capabilities
    if get_capability(capabilities, "workspace.workspace_edit.document_changes", False):
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        edit = types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=edits)]
        )
    else:
        edit = types.WorkspaceEdit(changes={uri: edits})
    return await apply_workspace_edit(ls, edit, action)


async def apply_workspace_edit(
    ls: LanguageServer, edit: types.WorkspaceEdit, action: str
) -> EditOutcome:
    """Send one `workspace/applyEdit` and report whether the client applied it."""
    if not get_capability(ls.client_capabilities, "workspace.apply_edit", False):
        return EditOutcome(False, "Aurelis: this editor does not accept edits from the server.")
    params = types.ApplyWorkspaceEditParams(edit=edit, label=f"Aurelis: {action}")
    try:
        result = await asyncio.wait_for(ls.workspace_apply_edit_async(params), _APPLY_TIMEOUT)
    except TimeoutError:
        return EditOutcome(False, f"Aurelis: the editor did not answer the {action} edit.")
    if not result.applied:
        reason = f": {result.failure_reason}" if result.failure_reason else ""
        return EditOutcome(False, f"Aurelis: the editor refused the {action} edit{reason}.")
    return EditOutcome(True)
