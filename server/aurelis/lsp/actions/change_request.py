"""The one path from an editor action to a change, shared by commands and code-action
resolve: open the document, check its version, plan the action, ask the model under a
cancellable progress report and turn the answer into a change.

What then happens to the change differs (a command applies it; resolve returns it in the
code action), so the change is yielded while the progress report is still open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from lsprotocol import types

from aurelis.lsp.actions.arguments import CommandArguments, action_request, open_document
from aurelis.lsp.actions.catalog import ACTIONS, READ_ONLY, ActionPlan, Change, plan_action
from aurelis.lsp.actions.edits import stale_message
from aurelis.lsp.actions.progress import ActionProgress
from aurelis.lsp.diagnostics import diagnostics_lines
from aurelis.lsp.server_state import AurelisLanguageServer
from aurelis.lsp.workspace.documents import DocumentSnapshot, is_at_version

__all__ = ["RequestedChange", "StaleDocument", "request_change", "stale"]


class StaleDocument(Exception):
    """The document changed before the action could use it; the user has been told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RequestedChange:
    """The model's answer to an action, finished into a change of `document`."""

    document: DocumentSnapshot
    plan: ActionPlan
    change: Change


@asynccontextmanager
async def request_change(
    ls: AurelisLanguageServer,
    name: str,
    args: CommandArguments,
    diagnostics: Sequence[types.Diagnostic] | None = None,
) -> AsyncIterator[RequestedChange]:
    """Ask the model for action `name` where `args` point; yield the resulting change.

    `diagnostics` are the ones the request carried; None means those the client last
    showed for the range. StaleDocument when the document is no longer at `args.version`.
    """
    document = open_document(ls.workspace, args.uri)
    # Without a version, the one the document has now: the change is checked against it.
    if name not in READ_ONLY and args.version is not None:
        if not is_at_version(ls.workspace, document.uri, args.version):
            raise stale(ls, name)
    if diagnostics is None:
        lines = ls.remembered_diagnostics(document.uri, args.range)
    else:
        lines = diagnostics_lines(diagnostics)
    action = action_request(name, document, args, lines)
    sources = ls.sources_for(document)
    plan = await plan_action(
        action, budget=ls.action_prompt_tokens, sources=sources, workspace=ls.sources.roots
    )
    async with ActionProgress(ls, plan.title) as progress:
        response = await progress.run(ls.models.call(plan.request))
        yield RequestedChange(document, plan, plan.finish(response.content))


def stale(ls: AurelisLanguageServer, name: str) -> StaleDocument:
    """Tell the user the document moved on under action `name`; the error to raise."""
    message = stale_message(ACTIONS[name].title.lower())
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))
    return StaleDocument(message)
