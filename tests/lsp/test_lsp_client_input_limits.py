"""What a client sends cannot flood the log or be read as something else: unknown
`$/cancelRequest` ids (2,000 of them, one of 10,000 characters) write a few short lines;
a reversed range and a line past the document's end are InvalidParams."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException
from tests.conftest import TEST_TOKEN, server_env
from tests.lsp.harness import SERVER_COMMAND, SERVER_DIR, AurelisTestClient

from aurelis.testing import ModelServer, Reply


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_unknown_cancel_ids_write_few_short_lines(isolated_config: object, tmp_path: Path) -> None:
    env = server_env(ModelServer(token=TEST_TOKEN), PYTHONPATH=str(SERVER_DIR))
    session = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": None, "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
    ]  # fmt: skip
    ids: list[object] = [f"gone-{n}" for n in range(2000)] + ["x" * 10_000, 12345]
    session += [{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": i}} for i in ids]
    session += [
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    log = tmp_path / "server.log"

    result = subprocess.run(
        [*SERVER_COMMAND, "--log-file", str(log)],
        input=b"".join(_frame(message) for message in session),
        env=env,
        capture_output=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert b'"id": 2' in result.stdout  # the server answered after the flood
    lines = (
        log.read_text() if log.exists() else ""
    ).splitlines() + result.stderr.decode().splitlines()
    assert len(lines) < 30, "\n".join(lines[:40])
    assert all(len(line) < 1200 for line in lines)
    assert "x" * 1200 not in log.read_text() if log.exists() else True


CODE = "def f(x):\n    return x\n"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"range": {"start": {"line": 1, "character": 4}, "end": {"line": 0, "character": 0}}},
         "ends before it starts"),
        ({"range": {"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 2}}},
         "ends before it starts"),
        ({"position": {"line": 1_000_000, "character": 0}}, "line 1000000"),
        ({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 500, "character": 0}}},
         "line 500"),
    ],
)  # fmt: skip
async def test_a_reversed_range_or_a_line_past_the_end_is_invalid_params(
    lsp: AurelisTestClient, model: ModelServer, project: Path, arguments: dict, message: str
) -> None:
    model.set_default("*", Reply(content="ok"))
    uri = lsp.open(project / "pkg" / "small.py", CODE)

    with pytest.raises(JsonRpcException) as refused:
        await lsp.command("aurelis.explain", {"uri": uri, **arguments})

    assert refused.value.code == -32602
    assert message in str(refused.value)
    assert model.requests == []


async def test_a_character_past_the_line_end_still_means_the_end(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    # The LSP says so: "If the character value is greater than the line length it
    # defaults back to the line length."
    model.set_default("*", Reply(content="ok"))
    uri = lsp.open(project / "pkg" / "small.py", CODE)
    await lsp.command("aurelis.explain", {"uri": uri, "position": {"line": 0, "character": 999}})
    assert len(model.requests) == 1
