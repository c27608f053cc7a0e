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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from aurelis.core.log import log_event
from aurelis.core.redaction import looks_like_env_file
from aurelis.lsp.actions import ACTIONS, ActionRequest, Markdown, plan_action
from aurelis.lsp.changes import apply_change, command_result
from aurelis.lsp.configuration import plain
from aurelis.lsp.documents import DocumentSnapshot, snapshot
from aurelis.lsp.edits import EditOutcome, stale_message
from aurelis.lsp.errors import InvalidArguments
from aurelis.lsp.progress import ActionProgress

if TYPE_CHECKING:
    from aurelis.lsp.server import AurelisLanguageServer

__all__ = ["COMMANDS", "READ_ONLY", "CommandArguments", "parse_arguments", "run_action", "register"]

logger = logging.getLogger("aurelis.lsp.commands")

COMMANDS = tuple(f"aurelis.{name}" for name in ACTIONS)
#: Commands that return `{markdown}` instead of editing.
READ_ONLY = frozenset({"explain", "analyze"})
_MAX_COORDINATE = 10_000_000


@dataclass(frozen=True)
class CommandArguments:
    uri: str
    range: types.Range | None = None
    position: types.Position | None = None
    instruction: str | None = None
    version: int | None = None


def parse_arguments(command: str, arguments: tuple[Any, ...]) -> CommandArguments:
    """Validate the single argument object; InvalidArguments says what is wrong."""
    usage = (
        f"{command} expects one argument object {{uri, range?, position?, instruction?, version?}}"
    )
    if len(arguments) != 1:
        raise InvalidArguments(f"{usage}; got {len(arguments)} arguments")
    raw = plain(arguments[0])
    if not isinstance(raw, Mapping):
        raise InvalidArguments(f"{usage}; got {type(raw).__name__}")
    uri = raw.get("uri")
    if not isinstance(uri, str) or not uri:
        raise InvalidArguments(f"{usage}; `uri` must be a non-empty string")
    instruction = raw.get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise InvalidArguments(f"{usage}; `instruction` must be a string")
    version = raw.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidArguments(f"{usage}; `version` must be an integer")
    return CommandArguments(
        uri=uri,
        range=_range(raw.get("range"), usage),
        position=_position(raw.get("position"), "position", usage),
        instruction=instruction.strip() or None if instruction else None,
        version=version,
    )


def _position(value: Any, name: str, usage: str) -> types.Position | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArguments(f"{usage}; `{name}` must be {{line, character}}")
    return types.Position(
        line=_coordinate(value.get("line"), f"{name}.line", usage),
        character=_coordinate(value.get("character"), f"{name}.character", usage),
    )


def _coordinate(number: Any, name: str, usage: str) -> int:
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not 0 <= number <= _MAX_COORDINATE
    ):
        raise InvalidArguments(f"{usage}; `{name}` must be a non-negative integer")
    return number


def _range(value: Any, usage: str) -> types.Range | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArguments(f"{usage}; `range` must be {{start, end}}")
    start = _position(value.get("start"), "range.start", usage)
    end = _position(value.get("end"), "range.end", usage)
    if start is None or end is None:
        raise InvalidArguments(f"{usage}; `range` needs both `start` and `end`")
    return types.Range(start=start, end=end)


def open_document(ls: AurelisLanguageServer, uri: str) -> DocumentSnapshot:
    """The open document `uri`, or InvalidArguments (the server never reads it from disk)."""
    document = snapshot(ls.workspace, uri)
    if document is None:
        raise InvalidArguments(f"{uri} is not open in the language server: open it first")
    if looks_like_env_file(document.path or uri):
        raise InvalidArguments("Aurelis never sends .env files to a model")
    return document


def action_request(
    name: str, document: DocumentSnapshot, args: CommandArguments, diagnostics: tuple[str, ...] = ()
) -> ActionRequest:
    selection = document.range_offsets(args.range) if args.range is not None else None
    if args.position is not None:
        cursor: int | None = document.offset(args.position)
    else:
        cursor = selection[1] if selection is not None else None
    return ActionRequest(name, document, selection, cursor, args.instruction, diagnostics)


async def run_action(
    ls: AurelisLanguageServer, name: str, args: CommandArguments
) -> dict[str, Any]:
    """Run one editor action end to end and return the command's result object."""
    document = open_document(ls, args.uri)
    if name not in READ_ONLY and args.version is not None and args.version != document.version:
        return _stale(ls, name)
    diagnostics = ls.remembered_diagnostics(document.uri, args.range)
    plan = await plan_action(ls, action_request(name, document, args, diagnostics))
    async with ActionProgress(ls, plan.title) as progress:
        response = await progress.run(ls.models.call(plan.request))
        change = plan.finish(response.content)
        if isinstance(change, Markdown):
            return {"markdown": change.text}
        outcome = await apply_change(ls, document, change, plan.title)
    log_event(logger, "action", action=name, applied=outcome.applied)
    return command_result(outcome)


def _stale(ls: AurelisLanguageServer, name: str) -> dict[str, Any]:
    message = stale_message(ACTIONS[name].title.lower())
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))
    return command_result(EditOutcome(False, message))


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
