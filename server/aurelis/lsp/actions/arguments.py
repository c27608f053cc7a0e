"""The argument object of the `aurelis.*` commands (also carried in a code action's `data`).

    {uri: string, range?: {start, end}, position?: {line, character},
     instruction?: string, version?: number}

Everything from the client is checked here, once; a bad value is an InvalidArguments
error that names the field, never an exception from deeper down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from aurelis.core.secrets import secret_file_refusal
from aurelis.lsp.actions.catalog import ActionRequest
from aurelis.lsp.errors import InvalidArguments
from aurelis.lsp.protocol.lsp_any import plain
from aurelis.lsp.workspace.documents import DocumentSnapshot, snapshot

if TYPE_CHECKING:
    from pygls.workspace import Workspace

__all__ = ["CommandArguments", "action_request", "open_document", "parse_arguments"]

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


def open_document(workspace: Workspace, uri: str) -> DocumentSnapshot:
    """The open document `uri`, or InvalidArguments (the server never reads it from disk)."""
    document = snapshot(workspace, uri)
    if document is None:
        raise InvalidArguments(f"{uri} is not open in the language server: open it first")
    if document.is_secret_file:
        raise InvalidArguments(secret_file_refusal(document.path or uri))
    return document


def action_request(
    name: str, document: DocumentSnapshot, args: CommandArguments, diagnostics: tuple[str, ...] = ()
) -> ActionRequest:
    """The action `name` on `document` where the arguments point (selection, cursor)."""
    selection = document.range_offsets(args.range) if args.range is not None else None
    if args.position is not None:
        cursor: int | None = document.offset(args.position)
    else:
        cursor = selection[1] if selection is not None else None
    return ActionRequest(name, document, selection, cursor, args.instruction, diagnostics)
