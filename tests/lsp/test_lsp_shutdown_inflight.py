"""`shutdown` while the embedded model is busy (loading, answering, or guessing the next
suggestion in the background): the work is cancelled, the reply comes, `exit` ends the
process with 0, and nothing loads the model again.

llama-cpp-python points the process's stdout at /dev/null while it loads a model (unless
verbose): a reply written by the event loop meanwhile was lost, and the editor waited for
it forever. The waits below are generous bounds on a hang, not speed measurements.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.lsp.wire_client import RawServer, notification, request

from aurelis.testing import ModelServer

# One thread: llama.cpp's spinning threads crawl when the shared machine is busy.
OFFLINE = {"AURELIS_PROVIDER": "local", "AURELIS_LOCAL_THREADS": "1"}
TEXT = "import math\n\n\ndef summarize(r):\n    "
END = {"line": 4, "character": 4}
#: Bounds a hang; a healthy server answers in well under a second.
REPLY_WITHIN = 30.0


@pytest.fixture
async def server(model: ModelServer, tmp_path: Path) -> AsyncIterator[tuple[RawServer, str]]:
    raw = await RawServer.start(model, env={**OFFLINE, "AURELIS_LOG_LEVEL": "DEBUG"})
    uri = (tmp_path / "body.py").as_uri()
    try:
        await raw.initialize()
        await raw.open(uri, TEXT)
        yield raw, uri
    finally:
        await raw.close()


def _local_state(message: dict[str, Any]) -> str | None:
    if message.get("method") != "aurelis/status":
        return None
    local = (message.get("params") or {}).get("local_model")
    return local.get("state") if isinstance(local, dict) else None


def _inline(uri: str) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": END, "context": {"triggerKind": 1}}


async def _shutdown_and_exit(raw: RawServer) -> tuple[dict[str, Any], int, str]:
    reply = await raw.call("down", "shutdown", None, within=REPLY_WITHIN)
    await raw.send_message(notification("exit", None))
    code, stderr = await raw.stop()
    return reply, code, stderr.decode("utf-8", "replace")


def _loads(log: str) -> int:
    # llama.cpp reports each model it loads once ("llama_model_loader: loaded meta data").
    return log.count("loaded meta data")


async def _ask_until_loaded(raw: RawServer, uri: str) -> list[str]:
    """Send a cheap request every 20 ms until the model has loaded; their ids."""
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
    params = {"textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": []}}
    sent: list[str] = []
    while not any(_local_state(m) in ("ready", "failed") for m in raw.received):
        sent.append(f"ping-{len(sent)}")
        await raw.send_message(request(sent[-1], "textDocument/codeAction", params))
        await asyncio.sleep(0.02)
        assert len(sent) < REPLY_WITHIN / 0.02, "the model never loaded"
    return sent


@pytest.mark.local_model
async def test_every_message_sent_while_the_local_model_loads_reaches_the_client(
    server: tuple[RawServer, str],
) -> None:
    raw, uri = server
    await raw.wait_for(lambda m: _local_state(m) == "loading")

    sent = await _ask_until_loaded(raw, uri)
    answers = [await raw.response(msg_id, within=REPLY_WITHIN) for msg_id in sent]

    assert all("result" in answer for answer in answers)


@pytest.mark.local_model
async def test_shutdown_while_the_local_model_loads_replies_and_exits_0(
    server: tuple[RawServer, str],
) -> None:
    raw, _ = server
    await raw.wait_for(lambda m: _local_state(m) == "loading")

    reply, code, log = await _shutdown_and_exit(raw)

    assert reply.get("result") is None and "error" not in reply
    assert code == 0
    assert "Traceback" not in log
    assert _loads(log) <= 1


@pytest.mark.local_model
async def test_shutdown_during_a_speculative_local_completion_replies_and_exits_0(
    server: tuple[RawServer, str],
) -> None:
    raw, uri = server
    await raw.wait_for(lambda m: _local_state(m) == "ready")

    answer = await raw.call("ask", "textDocument/inlineCompletion", _inline(uri))
    # The answer is out: the guess for after accepting it starts now, in the background.
    reply, code, log = await _shutdown_and_exit(raw)

    assert "result" in answer
    assert reply.get("result") is None and "error" not in reply
    assert code == 0
    assert "Traceback" not in log
    assert _loads(log) == 1  # the guess did not load the model again after it was closed


@pytest.mark.local_model
async def test_shutdown_during_a_local_completion_cancels_it_replies_and_exits_0(
    server: tuple[RawServer, str],
) -> None:
    raw, uri = server
    await raw.wait_for(lambda m: _local_state(m) == "ready")
    await raw.send_message(request("ask", "textDocument/inlineCompletion", _inline(uri)))
    await asyncio.sleep(0.1)  # the model is evaluating the prompt or generating

    reply, code, log = await _shutdown_and_exit(raw)
    answer = await raw.response("ask", within=REPLY_WITHIN)

    assert reply.get("result") is None and "error" not in reply
    assert "result" in answer or answer["error"]["code"] == -32800  # answered, never dropped
    assert code == 0
    assert "Traceback" not in log
    assert _loads(log) == 1
