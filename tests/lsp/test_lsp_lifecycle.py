"""Start-up, capabilities, the status notification and the process contract (stdio, TCP,
logging never on stdout)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.conftest import TEST_TOKEN, server_env
from tests.lsp.harness import (
    SERVER_COMMAND,
    SERVER_DIR,
    STATUS,
    TIMEOUT,
    AurelisTestClient,
    capabilities,
    make_client,
)

from aurelis.testing import ModelServer, Reply

COMMANDS = [
    "aurelis.acceptSuggestion",
    "aurelis.addErrorHandling",
    "aurelis.analyze",
    "aurelis.document",
    "aurelis.explain",
    "aurelis.generate",
    "aurelis.generateTests",
    "aurelis.optimize",
    "aurelis.refactor",
    "aurelis.trustProject",
    "aurelis.untrustProject",
]


async def test_initialize_advertises_every_feature(lsp: AurelisTestClient) -> None:
    assert lsp.initialize_result is not None
    caps = lsp.initialize_result.capabilities
    assert caps.inline_completion_provider is not None
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert sync.open_close is True
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert caps.code_action_provider.resolve_provider is True
    assert set(caps.code_action_provider.code_action_kinds or []) == {
        "refactor.rewrite",
        "refactor",
        "source",
        "quickfix",
    }
    assert caps.execute_command_provider is not None
    assert sorted(caps.execute_command_provider.commands) == COMMANDS


def _real(path: Path) -> str:
    return str(path.resolve())


async def test_status_is_sent_after_initialize(lsp: AurelisTestClient, project: Path) -> None:
    status = await lsp.wait_for_status(lambda s: True)

    assert set(status) == {
        "provider",
        "endpoint",
        "offline",
        "busy",
        "last_error",
        "models",
        "trust",
        "local_model",
        "index",
    }
    assert set(status["index"]) == {_real(project)}  # the workspace folder's index


async def test_a_server_without_workspace_folders_still_completes(
    start_lsp, model: ModelServer, tmp_path: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(root=None)
    model.set_default("*", Reply(content="1"))
    uri = lsp.open(tmp_path / "loose.py", "x = ")

    result = await lsp.inline(uri, types.Position(line=0, character=4))

    assert [item.insert_text for item in result.items] == ["1"]


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _messages(stdout: bytes) -> list[dict[str, Any]]:
    """Parse stdout as LSP frames; fails on any byte that is not part of a frame."""
    messages = []
    while stdout:
        header, _, rest = stdout.partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in header.decode().split("\r\n"))
        length = int(fields["Content-Length"])
        messages.append(json.loads(rest[:length]))
        stdout = rest[length:]
    return messages


async def _run_session(env: dict[str, str], *args: str) -> tuple[bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    secret_doc = f'TOKEN = "{TEST_TOKEN}"\n'
    session = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}},
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": "file:///tmp/doc.py",
                    "languageId": "python",
                    "version": 1,
                    "text": secret_doc,
                }
            },
        },
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "workspace/executeCommand",
            "params": {"command": "aurelis.explain", "arguments": [{"uri": "file:///tmp/doc.py"}]},
        },
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    assert process.stdin is not None
    for message in session[:4]:
        process.stdin.write(_frame(message))
    await process.stdin.drain()
    # Wait for the command's answer before shutting down, as a client would.
    stdout = b""
    assert process.stdout is not None
    while b'"id": 2' not in stdout and b'"id":2' not in stdout:
        chunk = await asyncio.wait_for(process.stdout.read(65536), TIMEOUT)
        assert chunk, "the server closed stdout early"
        stdout += chunk
    for message in session[4:]:
        process.stdin.write(_frame(message))
    await process.stdin.drain()
    rest, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    return stdout + rest, stderr


async def test_stdout_carries_only_protocol_frames_and_logs_are_redacted(
    model: ModelServer, isolated_config: Any, tmp_path: Path
) -> None:
    model.set_default("*", Reply(content="## explained"))
    env = server_env(model, PYTHONPATH=str(SERVER_DIR), AURELIS_LOG_LEVEL="DEBUG")

    stdout, stderr = await _run_session(env)

    messages = _messages(stdout)
    answer = next(m for m in messages if m.get("id") == 2)
    assert answer["result"] == {"markdown": "## explained"}
    assert any(m.get("method") == STATUS for m in messages)
    log = stderr.decode()
    assert "model_request" in log  # logs go to stderr...
    assert TEST_TOKEN not in log  # ...without the secret from the document


async def test_log_file_receives_the_logs_instead_of_stderr(
    model: ModelServer, isolated_config: Any, tmp_path: Path
) -> None:
    model.set_default("*", Reply(content="## explained"))
    log_file = tmp_path / "logs" / "server.log"
    env = server_env(model, PYTHONPATH=str(SERVER_DIR))

    stdout, stderr = await _run_session(env, "--log-file", str(log_file))

    assert "model_request" in log_file.read_text()
    assert b"model_request" not in stderr
    assert _messages(stdout)


async def test_tcp_transport_serves_a_session(
    model: ModelServer, isolated_config: Any, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = server_env(model, PYTHONPATH=str(SERVER_DIR))
    process = await asyncio.create_subprocess_exec(
        *SERVER_COMMAND,
        "--tcp",
        f"127.0.0.1:{port}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    client = make_client()
    try:
        await _connect(client, port)
        result = await asyncio.wait_for(
            client.initialize_session(types.InitializeParams(capabilities=capabilities())), TIMEOUT
        )
        assert result.capabilities.inline_completion_provider is not None
        await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
        client.exit(None)
        assert await asyncio.wait_for(process.wait(), TIMEOUT) == 0
    finally:
        if process.returncode is None:
            process.kill()
        # The server closes the socket as it exits; the client's reader may see a reset.
        with contextlib.suppress(ConnectionResetError):
            await client.stop()


async def _connect(client: AurelisTestClient, port: int) -> None:
    """Connect once the server listens (it binds after interpreter start-up)."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while True:
        try:
            await client.start_tcp("127.0.0.1", port)
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--tcp", "nonsense"], 2, "--tcp expects HOST:PORT"),
        (["--tcp", "h:0002087"], 2, "--tcp expects HOST:PORT"),
        (["--max-message-bytes", "lots"], 2, "--max-message-bytes expects a number of bytes"),
        (["--max-message-bytes", "10"], 2, "must be at least 1024 bytes"),
        (["--verbose"], 2, "unknown option '--verbose'"),
        (["--help"], 0, "usage: aurelis serve"),
    ],
)
def test_the_server_module_reads_its_options_or_says_why_not(
    args: list[str], code: int, said: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "aurelis.lsp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == code
    assert said in result.stderr
    assert result.stdout == ""  # stdout is the protocol's, even for help and usage errors
