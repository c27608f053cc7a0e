"""Shutdown and exit over the real wire: refused requests after shutdown, the exit code,
and a shutdown that cancels running model work, replies and exits quietly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.lsp.wire_client import RawServer, notification, open_session

from aurelis.testing import ModelServer, Reply

URI = "file:///tmp/wire/life.py"
TEXT = "def add(a, b):\n    return a + b\n"


@pytest.fixture
async def server(model: ModelServer) -> AsyncIterator[RawServer]:
    async with open_session(model, URI, TEXT) as raw:
        yield raw


async def test_requests_after_shutdown_are_invalid_and_exit_is_0(server: RawServer) -> None:
    assert (await server.call(1, "shutdown", None))["result"] is None

    reply = await server.call(2, "textDocument/codeAction", {})
    await server.send_message(notification("exit", None))
    code, _ = await server.stop()

    assert reply["error"]["code"] == -32600
    assert "after shutdown" in reply["error"]["message"]
    assert code == 0


async def test_exit_without_shutdown_exits_1(server: RawServer) -> None:
    assert await server.answers_code_actions(URI)

    await server.send_message(notification("exit", None))
    code, _ = await server.stop()

    assert code == 1


async def test_shutdown_during_a_model_call_cancels_it_replies_and_exits_quietly(
    server: RawServer, model: ModelServer
) -> None:
    model.set_default("*", Reply(content="## slow", latency=30))
    explain = {"command": "aurelis.explain", "arguments": [{"uri": URI}]}
    await server.send_message(
        {"jsonrpc": "2.0", "id": 5, "method": "workspace/executeCommand", "params": explain}
    )
    deadline = time.monotonic() + 30
    while not model.requests:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert model.requests, "the model call never started"

    shutdown = await server.call(6, "shutdown", None, within=10)
    cancelled = await server.response(5, within=10)
    started = time.monotonic()
    await server.send_message(notification("exit", None))
    code, stderr = await server.stop()

    assert shutdown["result"] is None
    assert cancelled["error"]["code"] == -32800
    assert code == 0
    assert time.monotonic() - started < 10
    log = stderr.decode()
    assert "Error sending data" not in log and "Traceback" not in log
    assert len(stderr) < 20_000


# --- start-up with broken settings or logs: one message, the rest keeps working --------------
async def _show_messages(raw: RawServer) -> list[str]:
    await raw.wait_for(lambda m: m.get("method") == "aurelis/status")
    return [m["params"]["message"] for m in raw.received if m.get("method") == "window/showMessage"]


async def _explain_works(raw: RawServer, model: ModelServer) -> None:
    model.set_default("*", Reply(content="## works"))
    await raw.open(URI, TEXT)
    reply = await raw.call(
        "explain",
        "workspace/executeCommand",
        {"command": "aurelis.explain", "arguments": [{"uri": URI}]},
    )
    assert reply.get("result") == {"markdown": "## works"}, reply


async def test_a_binary_config_file_is_one_message_and_the_rest_works(
    model: ModelServer, tmp_path: Path
) -> None:
    broken = tmp_path / "config.toml"
    broken.write_bytes(b"\xff\xfe\x00binary")
    raw = await RawServer.start(model, env={"AURELIS_CONFIG_FILE": str(broken)})
    try:
        await raw.initialize()
        messages = await _show_messages(raw)
        await _explain_works(raw, model)
        await _explain_works(raw, model)  # not only the first command after start
    finally:
        await raw.close()

    assert len(messages) == 1
    assert str(broken) in messages[0] and "not UTF-8" in messages[0]


async def test_non_json_deployments_is_one_message_and_the_endpoint_still_applies(
    model: ModelServer,
) -> None:
    raw = await RawServer.start(model, env={"AURELIS_DEPLOYMENTS": "not json"})
    try:
        await raw.initialize()
        messages = await _show_messages(raw)
        await _explain_works(raw, model)  # AURELIS_ENDPOINT, from the same layer, still holds
    finally:
        await raw.close()

    assert len(messages) == 1 and "AURELIS_DEPLOYMENTS" in messages[0]


async def test_an_unwritable_log_file_setting_falls_back_to_stderr(
    model: ModelServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    raw = await RawServer.start(model, env={"AURELIS_LOG_FILE": str(blocker / "server.log")})
    try:
        await raw.initialize()
        await _explain_works(raw, model)
        await raw.call("down", "shutdown", None)
        await raw.send_message(notification("exit", None))
        code, stderr = await raw.stop()
    finally:
        await raw.close()

    assert code == 0
    assert stderr.decode().count("warning: cannot write the log file") == 1
    assert "Traceback" not in stderr.decode()
