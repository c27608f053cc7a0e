"""`aurelis serve`: the language server behind the CLI (stdio stays protocol-only)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import cli_env
from typer.testing import Result

from aurelis.cli.errors import CliUsageError
from aurelis.cli.main import fast_serve_options
from aurelis.cli.serve import serve_options
from aurelis.launch import import_language_server
from aurelis.lsp.serve_options import ServeOptions, ServeOptionsError, tcp_address

Invoke = Callable[..., Result]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:2087", ("127.0.0.1", 2087)),
        (":2087", ("127.0.0.1", 2087)),
        ("[::1]:9000", ("::1", 9000)),
        ("h:0", ("h", 0)),
        ("h:65535", ("h", 65535)),
    ],
)
def test_tcp_addresses_are_read_into_host_and_port(text: str, address: tuple[str, int]) -> None:
    assert tcp_address(text) == address


@pytest.mark.parametrize("bad", ["localhost", "host:port", "h:70000", "h:0002087", "h:²", "h:-1"])
def test_a_malformed_tcp_address_is_refused_by_both_front_doors(bad: str) -> None:
    with pytest.raises(ServeOptionsError, match="HOST:PORT"):
        tcp_address(bad)
    with pytest.raises(CliUsageError, match="invalid --tcp address"):
        serve_options(bad, None)
    assert fast_serve_options(["serve", "--tcp", bad]) is None  # typer reports it


def test_the_typer_command_builds_the_same_options_as_the_fast_path() -> None:
    built = serve_options(":2087", Path("s.log"), 4096)
    read = fast_serve_options(
        ["serve", "--tcp", ":2087", "--log-file", "s.log", "--max-message-bytes", "4096"]
    )
    assert built == read == ServeOptions(("127.0.0.1", 2087), Path("s.log"), 4096)


def test_a_bad_tcp_address_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke(["serve", "--tcp", "nowhere"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid --tcp address 'nowhere'")


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class _Reader:
    """Reads Content-Length framed messages from a pipe, with a deadline."""

    def __init__(self, stream: Any) -> None:
        self._fd = stream.fileno()
        self._data = b""
        self.first_bytes = b""

    def read(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = self._take()
            if message is not None:
                return message
            left = deadline - time.monotonic()
            assert left > 0, f"no LSP message within {timeout}s: {self._data[:200]!r}"
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                assert chunk, f"server closed stdout: {self._data[:200]!r}"
                self.first_bytes = self.first_bytes or chunk
                self._data += chunk

    def reply_to(self, request_id: int) -> dict[str, Any]:
        while True:  # skip notifications the server may send first
            message = self.read()
            if message.get("id") == request_id and "method" not in message:
                return message

    def _take(self) -> dict[str, Any] | None:
        header_end = self._data.find(b"\r\n\r\n")
        if header_end < 0:
            return None
        headers = self._data[:header_end].decode()
        length = int(headers.split("Content-Length:")[1].split("\r\n")[0])
        start = header_end + 4
        if len(self._data) < start + length:
            return None
        body, self._data = self._data[start : start + length], self._data[start + length :]
        return dict(json.loads(body))


def test_serve_speaks_lsp_on_stdio() -> None:
    pytest.importorskip("aurelis.lsp.server")
    process = subprocess.Popen(
        [sys.executable, "-m", "aurelis", "serve", "--stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(None),
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(
            _frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": None, "rootUri": None, "capabilities": {}},
                }
            )
        )
        process.stdin.flush()
        reader = _Reader(process.stdout)
        reply = reader.reply_to(1)
        assert "capabilities" in reply["result"]
        # Nothing but the protocol on stdout: the very first bytes are a header.
        assert reader.first_bytes.startswith(b"Content-Length")
        process.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        process.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- the fast path


def test_the_fast_path_takes_serve_with_the_options_editors_pass() -> None:
    assert fast_serve_options(["serve"]) == ServeOptions()
    assert fast_serve_options(["serve", "--stdio"]) == ServeOptions()
    assert fast_serve_options(["serve", "--tcp", ":2087", "--log-file", "s.log"]) == ServeOptions(
        tcp=("127.0.0.1", 2087), log_file=Path("s.log")
    )
    assert fast_serve_options(["serve", "--tcp=[::1]:9000", "--stdio"]) == ServeOptions(
        tcp=("::1", 9000)
    )
    assert fast_serve_options(["serve", "--max-message-bytes", "4096"]) == ServeOptions(
        max_message_bytes=4096
    )
    assert fast_serve_options(["serve", "--tcp", ":1", "--tcp", ":2"]) == ServeOptions(
        tcp=("127.0.0.1", 2)  # the last one wins, as with click
    )


def test_the_fast_path_leaves_everything_else_to_the_typer_command() -> None:
    for args in (
        [],
        ["ask", "serve"],
        ["--debug", "serve"],
        ["serve", "--help"],
        ["serve", "--tcp", "nowhere"],
        ["serve", "--tcp"],
        ["serve", "--log-file="],
        ["serve", "extra"],
        ["serve", "--max-message-bytes", "lots"],
    ):
        assert fast_serve_options(args) is None, args


def test_the_server_is_imported_with_the_collector_paused_then_running_again() -> None:
    import gc

    from aurelis.lsp import server

    try:
        assert import_language_server() is server.main
        assert gc.isenabled()
    finally:
        gc.unfreeze()  # this test process is not a server: let its objects be collected


def _initialize_then_exit(argv: list[str], stderr_file: Path) -> int:
    """Run `argv` as a server: initialize, shutdown, exit; returns its exit code."""
    # stderr goes to a file: a full pipe would stall the server before it answers.
    with stderr_file.open("wb") as stderr:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=cli_env(None)
        )
    assert process.stdin is not None and process.stdout is not None
    try:
        initialize = {"processId": None, "rootUri": None, "capabilities": {}}
        process.stdin.write(
            _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize})
        )
        process.stdin.flush()
        assert "capabilities" in _Reader(process.stdout).reply_to(1)["result"]
        process.stdin.write(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        process.stdin.write(_frame({"jsonrpc": "2.0", "method": "exit"}))
        process.stdin.flush()
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _imported(importtime_log: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime_log.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def test_serve_answers_initialize_without_importing_the_cli_stack(tmp_path: Path) -> None:
    # Editors wait for initialize; typer, rich and the config (pydantic) are not needed for
    # it. -X importtime lists every module the process imported.
    pytest.importorskip("aurelis.lsp.server")
    log = tmp_path / "importtime.log"
    argv = [sys.executable, "-X", "importtime", "-m", "aurelis", "serve", "--stdio"]
    assert _initialize_then_exit(argv, log) == 0
    imported = _imported(log.read_text())
    assert {"aurelis.lsp.server", "lsprotocol.types"} <= imported
    assert not {"typer", "rich", "click", "pydantic", "aurelis.cli.app"} & imported


def test_serve_options_it_does_not_take_go_through_the_command_and_its_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aurelis", "serve", "--tcp", "nowhere"],
        env=cli_env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid --tcp address 'nowhere'")
    helped = subprocess.run(
        [sys.executable, "-m", "aurelis", "serve", "--help"],
        env=cli_env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0 and "--log-file" in helped.stdout


def test_serve_passes_a_message_size_limit_to_the_server_which_checks_it() -> None:
    for args in (["--max-message-bytes", "10"], ["--max-message-bytes=10", "--help"]):
        done = subprocess.run(
            [sys.executable, "-m", "aurelis", "serve", *args],
            env=cli_env(None),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        if "--help" in args:
            assert done.returncode == 0 and "--max-message-bytes" in done.stdout
        else:
            assert done.returncode == 2
            assert "--max-message-bytes must be at least 1024 bytes" in done.stderr
