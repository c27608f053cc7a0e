"""`workspace/executeCommand`: the eight editor actions.

Contract (shared with the VS Code and Neovim clients):

    command: aurelis.generate | aurelis.document | aurelis.refactor | aurelis.optimize |
             aurelis.addErrorHandling | aurelis.generateTests | aurelis.explain | aurelis.analyze
    arguments: [ {uri: string,
                  range?: {start: {line, character}, end: {line, character}},
                  position?: {line, character},
                  instruction?: string,
                  version?: number} ]
    result: explain, analyze → {markdown: string}
            the others       → {applied: boolean, message?: string}

Edits are applied with `workspace/applyEdit` only while the document is still at `version`
(or, without one, the version it had when the command arrived); otherwise nothing is
applied, the result is `{applied: false, message}` and a `window/showMessage` says why.
Errors are JSON-RPC errors with a readable message: -32602 for bad arguments or a document
the server does not have open, -32803 when the model call fails, -32800 when cancelled.
"""

from __future__ import annotations

import logging
from typing import Any

from pygls.lsp.server import LanguageServer

from aurelis.core.log import log_event
from aurelis.lsp.actions.arguments import CommandArguments, parse_arguments
from aurelis.lsp.actions.catalog import ACTIONS, Markdown
from aurelis.lsp.actions.change_request import StaleDocument, request_change
from aurelis.lsp.actions.changes import apply_change, command_result
from aurelis.lsp.actions.edits import EditOutcome
from aurelis.lsp.server_state import AurelisLanguageServer

__all__ = ["COMMANDS", "run_action", "register"]

logger = logging.getLogger("aurelis.lsp.actions.commands")

COMMANDS = tuple(f"aurelis.{name}" for name in ACTIONS)


async def run_action(
    ls: AurelisLanguageServer, name: str, args: CommandArguments
) -> dict[str, Any]:
    """Run one editor action end to end and return the command's result object."""
    try:
        async with request_change(ls, name, args) as requested:
            if isinstance(requested.change, Markdown):
                return {"markdown": requested.change.text}
            outcome = await apply_change(
                ls, ls.sources.roots, requested.document, requested.change, requested.plan.title
            )
    except StaleDocument as stale:
        return command_result(EditOutcome(False, stale.message))
    log_event(logger, "action", action=name, applied=outcome.applied)
    return command_result(outcome)


def register(ls: AurelisLanguageServer) -> None:
    """Register every `aurelis.*` command on `ls`."""
    for name in ACTIONS:
        _register_one(ls, name)


def _register_one(server: AurelisLanguageServer, name: str) -> None:
    command = f"aurelis.{name}"

    # pygls passes the server first (the parameter is named `ls`), then the raw arguments.
    @server.command(command)
    async def handler(ls: LanguageServer, *arguments: object) -> dict[str, Any]:
        with server.protocol.cancellable_request():
            args = parse_arguments(command, arguments)
            return await run_action(server, name, args)
