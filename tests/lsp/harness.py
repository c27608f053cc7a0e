"""End-to-end harness: a pytest-lsp client that behaves like a small editor.

The test client behaves like a small editor: it keeps its own copy of each open document,
applies `workspace/applyEdit` to it (refusing edits for a version it no longer has), sends
the matching `didChange`, and records `aurelis/status` notifications as plain JSON.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage, default_converter
from pygls.uris import from_fs_path, to_fs_path
from pytest_lsp import LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from pytest_lsp.protocol import LanguageClientProtocol

from aurelis.testing import ModelServer

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
SERVER_COMMAND = [sys.executable, "-m", "aurelis.lsp"]
#: Generous: the machine is shared and loaded; these bound hangs, they do not measure speed.
TIMEOUT = 60.0
STATUS = "aurelis/status"


class AurelisTestProtocol(LanguageClientProtocol):
    """Keeps `aurelis/status` params as JSON (pygls would turn them into namedtuples,
    renaming keys such as "codestral-2501" that are not identifiers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Request ids whose results are kept as JSON (see AurelisTestClient.code_actions).
        self.raw_results: set[str] = set()

    def structure_message(self, data: dict[str, Any]) -> Any:
        if data.get("method") == STATUS:
            return JsonRPCNotification(
                method=STATUS, jsonrpc=data["jsonrpc"], params=data.get("params")
            )
        if data.get("id") in self.raw_results and "result" in data:
            self.raw_results.discard(data["id"])
            self._result_types.pop(data["id"], None)
            return JsonRPCResponseMessage(
                id=data["id"], jsonrpc=data["jsonrpc"], result=data["result"]
            )
        return super().structure_message(data)


class AurelisTestClient(LanguageClient):
    """A pytest-lsp client that acts like an editor (see the module docstring)."""

    def __init__(self, configuration: dict[str, Any] | None = None) -> None:
        super().__init__(
            configuration=configuration,
            protocol_cls=AurelisTestProtocol,
            converter_factory=default_converter,
        )
        self.statuses: list[dict[str, Any]] = []
        self.applied_edits: list[types.WorkspaceEdit] = []
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self._changed = asyncio.Event()
        self.initialize_result: types.InitializeResult | None = None
        self._requests = 0

    # --- events -----------------------------------------------------------------------
    def notice(self) -> None:
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], Any], within: float = TIMEOUT) -> Any:
        """Wait until `predicate()` is truthy; re-checked on every message from the server."""
        deadline = time.monotonic() + within
        while not (result := predicate()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {within}s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))
            except TimeoutError:
                pass  # other processes (the model server) change state without telling us
        return result

    async def wait_for_status(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        return await self.wait_for(
            lambda: next((s for s in reversed(self.statuses) if predicate(s)), None)
        )

    # --- documents ----------------------------------------------------------------------
    def open(self, path: Path, text: str | None = None, language: str = "python") -> str:
        uri = from_fs_path(str(path)) or path.as_uri()
        text = path.read_text(encoding="utf-8") if text is None else text
        self.texts[uri], self.versions[uri] = text, 1
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )
        return uri

    def edit(self, uri: str, rng: types.Range, new_text: str) -> None:
        """Type: change the local copy and tell the server (incremental sync)."""
        self._apply_local(uri, [types.TextEdit(range=rng, new_text=new_text)])

    def type_at_end(self, uri: str, new_text: str) -> types.Position:
        end = end_position(self.texts[uri])
        self.edit(uri, types.Range(start=end, end=end), new_text)
        return end_position(self.texts[uri])

    def _apply_local(self, uri: str, edits: list[types.TextEdit]) -> None:
        ordered = sorted(
            edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
        )
        text = self.texts[uri]
        for edit in ordered:
            text = apply_edit(text, edit)
        self.texts[uri] = text
        self.versions[uri] += 1
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
                    for e in ordered
                ],
            )
        )

    # --- requests -----------------------------------------------------------------------
    async def inline(
        self, uri: str, position: types.Position, invoked: bool = True, msg_id: str | None = None
    ) -> Any:
        kind = (
            types.InlineCompletionTriggerKind.Invoked
            if invoked
            else types.InlineCompletionTriggerKind.Automatic
        )
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.InlineCompletionContext(trigger_kind=kind),
        )
        request = self.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=msg_id
        )
        return await asyncio.wait_for(request, TIMEOUT)

    async def command(self, name: str, *arguments: Any, msg_id: str | None = None) -> Any:
        params = types.ExecuteCommandParams(command=name, arguments=list(arguments))
        request = self.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND, params, msg_id=msg_id
        )
        return await asyncio.wait_for(request, TIMEOUT)

    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        """textDocument/codeAction, structured by hand: lsprotocol's converter turns a
        CodeAction that carries a `command` into a Command (an editor tells them apart by
        the type of `command`, as done here)."""
        self._requests += 1
        msg_id = f"code-action-{self._requests}"
        self.protocol.raw_results.add(msg_id)
        request = self.protocol.send_request_async(
            types.TEXT_DOCUMENT_CODE_ACTION, params, msg_id=msg_id
        )
        raw = await asyncio.wait_for(request, TIMEOUT) or []
        converter = self.protocol._converter
        return [
            converter.structure(item, types.CodeAction)
            for item in raw
            if not isinstance(item.get("command"), str)
        ]

    def cancel(self, msg_id: str) -> None:
        self.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))


def end_position(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(line=len(lines) - 1, character=len(lines[-1]))


def offset_of(text: str, position: types.Position) -> int:
    lines = text.split("\n")
    line = min(position.line, len(lines) - 1)
    return sum(len(item) + 1 for item in lines[:line]) + min(position.character, len(lines[line]))


def apply_edit(text: str, edit: types.TextEdit) -> str:
    start, end = offset_of(text, edit.range.start), offset_of(text, edit.range.end)
    return text[:start] + edit.new_text + text[end:]


def position_of(text: str, needle: str, after: bool = False) -> types.Position:
    """The position where `needle` starts (or ends, with after=True) in `text`."""
    index = text.index(needle) + (len(needle) if after else 0)
    line = text.count("\n", 0, index)
    return types.Position(line=line, character=index - (text.rfind("\n", 0, index) + 1))


def _apply_workspace_edit(
    client: AurelisTestClient, params: types.ApplyWorkspaceEditParams
) -> types.ApplyWorkspaceEditResult:
    edit = params.edit
    changes: list[Any] = list(edit.document_changes or [])
    for uri, edits in (edit.changes or {}).items():
        changes.append(
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=edits,
            )
        )
    for change in changes:  # check everything first: an editor applies all or nothing
        if isinstance(change, types.TextDocumentEdit):
            version = change.text_document.version
            uri = change.text_document.uri
            if version is not None and client.versions.get(uri) != version:
                return types.ApplyWorkspaceEditResult(
                    applied=False, failure_reason="document version changed"
                )
    for change in changes:
        if isinstance(change, types.CreateFile):
            path = Path(to_fs_path(change.uri) or "")
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("", encoding="utf-8")
        elif isinstance(change, types.TextDocumentEdit):
            uri = change.text_document.uri
            if uri in client.texts:
                client._apply_local(uri, list(change.edits))
            else:  # not open: edit the file on disk, as an editor saving at once would
                path = Path(to_fs_path(uri) or "")
                text = path.read_text(encoding="utf-8") if path.exists() else ""
                for item in sorted(
                    change.edits,
                    key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True,
                ):
                    text = apply_edit(text, item)
                path.write_text(text, encoding="utf-8")
    client.applied_edits.append(edit)
    client.notice()
    return types.ApplyWorkspaceEditResult(applied=True)


def make_client(configuration: dict[str, Any] | None = None) -> AurelisTestClient:
    client = AurelisTestClient(configuration)
    own = {types.WINDOW_SHOW_MESSAGE, types.PROGRESS}
    register_lsp_features(
        client, {m: f for m, f in DEFAULT_CLIENT_FEATURES.items() if m not in own}
    )

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_workspace_edit(
        params: types.ApplyWorkspaceEditParams,
    ) -> types.ApplyWorkspaceEditResult:
        return _apply_workspace_edit(client, params)

    @client.feature(STATUS)
    def status(params: Any) -> None:
        client.statuses.append(params)
        client.notice()

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        client.messages.append(params)
        client.notice()

    @client.feature(types.PROGRESS)
    def progress(params: types.ProgressParams) -> None:
        value = params.value if isinstance(params.value, dict) else params.value._asdict()
        client.progress_reports.setdefault(params.token, []).append(value)
        client.notice()

    return client


def capabilities(
    *, resolve: bool = True, progress: bool = True, configuration: bool = True
) -> types.ClientCapabilities:
    """What a capable editor advertises, inline completion included (pytest-lsp's bundled
    client capability sets lack it)."""
    kinds = [
        types.CodeActionKind.RefactorRewrite,
        types.CodeActionKind.Source,
        types.CodeActionKind.QuickFix,
    ]
    code_action = types.CodeActionClientCapabilities(
        code_action_literal_support=types.ClientCodeActionLiteralOptions(
            code_action_kind=types.ClientCodeActionKindOptions(value_set=kinds)
        ),
        data_support=resolve,
        resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
        if resolve
        else None,
    )
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True, resource_operations=[types.ResourceOperationKind.Create]
            ),
            configuration=configuration,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(),
            workspace_folders=True,
        ),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(did_save=True),
            inline_completion=types.InlineCompletionClientCapabilities(),
            code_action=code_action,
        ),
        window=types.WindowClientCapabilities(work_done_progress=progress),
    )


def recorded_prompt(model: ModelServer, index: int = -1) -> str:
    """All message text of one recorded model request (system + user)."""
    request = model.requests[index]
    return "\n".join(str(message.get("content", "")) for message in request.messages)
