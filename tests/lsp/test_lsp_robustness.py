"""Bad input gets a clear error or an empty result, and the server answers the next request:
unknown command, bad arguments, stale version, unopened document, a 5 MB document,
positions past the end, params of the wrong shape for any method."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import JsonRPCRequestMessage
from tests.lsp.harness import AurelisTestClient, recorded_prompt

from aurelis.models.tokens import count_tokens
from aurelis.testing import ModelServer, Reply


async def _still_answers(client: AurelisTestClient, model: ModelServer, uri: str) -> None:
    model.set_default("*", Reply(content="## fine"))
    assert await client.command(
        "aurelis.explain", {"uri": uri, "position": {"line": 0, "character": 0}}
    ) == {"markdown": "## fine"}


async def test_unknown_command_is_an_error(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")

    with pytest.raises(JsonRpcException, match="aurelis.doEverything"):
        await lsp.command("aurelis.doEverything", {"uri": uri})

    await _still_answers(lsp, model, uri)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ((), "got 0 arguments"),
        (("file:///x.py",), "got str"),
        (({"uri": 42},), "`uri` must be a non-empty string"),
        (
            ({"uri": "file:///x.py", "range": {"start": {"line": 0, "character": 0}}},),
            "both `start` and `end`",
        ),
        (({"uri": "file:///x.py", "position": {"line": -1, "character": 0}},), "`position.line`"),
        (({"uri": "file:///x.py", "version": "7"},), "`version` must be an integer"),
        (({"uri": "file:///x.py"}, {"uri": "file:///y.py"}), "got 2 arguments"),
    ],
)
async def test_bad_arguments_are_invalid_params_with_the_reason(
    lsp: AurelisTestClient,
    model: ModelServer,
    project: Path,
    arguments: tuple[Any, ...],
    complaint: str,
) -> None:
    with pytest.raises(JsonRpcInvalidParams, match=complaint.replace("`", ".")):
        await lsp.command("aurelis.refactor", *arguments)

    assert model.requests == []
    await _still_answers(lsp, model, lsp.open(project / "pkg" / "calc.py"))


async def test_a_document_the_client_never_opened_is_refused(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    unopened = (project / "pkg" / "util.py").as_uri()

    with pytest.raises(JsonRpcInvalidParams, match="is not open"):
        await lsp.command("aurelis.explain", {"uri": unopened})
    result = await lsp.inline(unopened, types.Position(line=0, character=0))

    assert result is None or list(result.items) == []
    assert model.requests == []
    await _still_answers(lsp, model, lsp.open(project / "pkg" / "calc.py"))


async def test_a_stale_version_is_reported_not_applied(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    before = lsp.texts[uri]

    result = await lsp.command(
        "aurelis.optimize", {"uri": uri, "version": 99, "position": {"line": 3, "character": 0}}
    )

    assert result["applied"] is False and "changed" in result["message"]
    assert lsp.texts[uri] == before
    await _still_answers(lsp, model, uri)


async def test_a_5_mb_document_stays_within_the_prompt_budget(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    line = "value_{0} = compute(value_{0}, factor=3)  # keep going\n"
    text = "".join(line.format(i) for i in range(100_000))
    assert len(text) > 5_000_000
    uri = lsp.open(project / "pkg" / "huge.py", text)
    model.set_default("*", Reply(content="x = 1"))

    completion = await lsp.inline(uri, types.Position(line=100_000, character=0))
    analysis = await lsp.command("aurelis.analyze", {"uri": uri})

    assert [item.insert_text for item in completion.items] == ["x = 1"]
    assert analysis == {"markdown": "x = 1"}
    inline_prompt, analyze_prompt = recorded_prompt(model, 0), recorded_prompt(model, 1)
    assert count_tokens(inline_prompt) <= 1536 + 100
    assert count_tokens(analyze_prompt) <= 6000 + 200
    assert "value_99999 = compute" in inline_prompt
    assert "only its first" in analyze_prompt
    with pytest.raises(JsonRpcInvalidParams, match="select less"):
        await lsp.command(
            "aurelis.refactor",
            {
                "uri": uri,
                "range": {
                    "start": {"line": 0, "character": 0},
                    "end": {"line": 99_999, "character": 0},
                },
            },
        )
    await _still_answers(lsp, model, uri)


async def test_an_inline_position_past_the_end_is_clamped_a_command_range_refused(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "short.py", "def f():\n    return 1\n")
    model.set_default("*", Reply(content="## f returns 1"))

    completion = await lsp.inline(uri, types.Position(line=500, character=80))
    with pytest.raises(JsonRpcException) as refused:
        await lsp.command(
            "aurelis.explain",
            {
                "uri": uri,
                "range": {
                    "start": {"line": 0, "character": 0},
                    "end": {"line": 900, "character": 900},
                },
            },
        )

    assert completion.items[0].range.start == types.Position(line=2, character=0)
    assert refused.value.code == -32602 and "line 900" in str(refused.value)
    assert "def f():\n    return 1" in recorded_prompt(model)
    await _still_answers(lsp, model, uri)


# --- params that do not match the method: always an answer, never internals --------------
async def _send_raw(client: AurelisTestClient, method: str, params: Any) -> Any:
    """A request with `params` sent as they are (the typed client would refuse to)."""
    msg_id = f"raw-{uuid.uuid4()}"
    future: Future[Any] = Future()
    client.protocol._request_futures[msg_id] = future
    client.protocol._send_data(
        JsonRPCRequestMessage(id=msg_id, method=method, params=params, jsonrpc="2.0")
    )
    return await asyncio.wait_for(asyncio.wrap_future(future), 60)


_POSITION = {"line": 0, "character": 0}
_RANGE = {"start": _POSITION, "end": _POSITION}
_INLINE_CONTEXT = {"triggerKind": 1}


@pytest.mark.parametrize(
    ("method", "params", "complaint"),
    [
        (
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            {
                "textDocument": {"uri": "file:///x.py"},
                "position": {"line": "a", "character": 0},
                "context": _INLINE_CONTEXT,
            },
            "params.position.line: expected an integer",
        ),
        (types.TEXT_DOCUMENT_INLINE_COMPLETION, None, "params: expected an InlineCompletionParams"),
        (types.TEXT_DOCUMENT_CODE_ACTION, [1, 2], "params.textDocument: expected"),
        (
            types.TEXT_DOCUMENT_CODE_ACTION,
            {"range": _RANGE, "context": {"diagnostics": []}},
            "params.textDocument: required field missing",
        ),
        (
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            {
                "textDocument": {"uri": "file:///x.py"},
                "position": {"line": -1, "character": 0},
                "context": _INLINE_CONTEXT,
            },
            "Position.line should be in range",
        ),
        (
            types.TEXT_DOCUMENT_CODE_ACTION,
            {
                "textDocument": {"uri": "file:///x.py"},
                "range": _RANGE,
                "context": {"diagnostics": [{"range": 5, "message": 3}]},
            },
            "params.context.diagnostics[0].range",
        ),
        (types.WORKSPACE_EXECUTE_COMMAND, {"arguments": []}, "params.command: required field"),
    ],
)
async def test_params_of_the_wrong_shape_are_invalid_params_naming_the_field(
    lsp: AurelisTestClient,
    model: ModelServer,
    project: Path,
    method: str,
    params: Any,
    complaint: str,
) -> None:
    with pytest.raises(JsonRpcInvalidParams) as raised:
        await _send_raw(lsp, method, params)

    assert complaint in raised.value.message
    assert raised.value.data is None
    assert model.requests == []
    await _still_answers(lsp, model, lsp.open(project / "pkg" / "calc.py"))


async def test_deeply_nested_arguments_get_an_answer(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    nested: Any = "leaf"
    for _ in range(200):  # deep, though within what the test client can send
        nested = [nested]
    params = {"command": "aurelis.explain", "arguments": [nested]}

    with pytest.raises(JsonRpcException) as raised:
        await _send_raw(lsp, types.WORKSPACE_EXECUTE_COMMAND, params)

    assert raised.value.code == JsonRpcInvalidParams.CODE
    assert raised.value.data is None
    await _still_answers(lsp, model, lsp.open(project / "pkg" / "calc.py"))


async def test_requests_about_documents_never_opened_get_readable_answers(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    never = (project / "pkg" / "never.py").as_uri()
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=never, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="x = 1\n")],
        )
    )
    lsp.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=never))
    )
    data = {"uri": never, "kind": "quickfix", "range": _RANGE, "version": 1}
    requests = [
        (types.CODE_ACTION_RESOLVE, {"title": "Fix", "data": data}),
        (types.CODE_ACTION_RESOLVE, {"title": "Fix", "data": 5}),
        (
            types.TEXT_DOCUMENT_CODE_ACTION,
            {"textDocument": {"uri": never}, "range": _RANGE, "context": {"diagnostics": []}},
        ),
    ]

    for method, params in requests:
        try:
            await _send_raw(lsp, method, params)
        except JsonRpcException as error:
            assert error.data is None
            assert (
                "KeyError" not in error.message and "object has no attribute" not in error.message
            )
            assert error.code != -32603, error.message

    assert not [m for m in lsp.messages if "Error in server" in m.message]
    await _still_answers(lsp, model, lsp.open(project / "pkg" / "calc.py"))
