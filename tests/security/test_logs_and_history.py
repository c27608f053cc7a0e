"""Aurelis's own files: the log file and the shell history are 0600, redacted, and never
written through a symlink, through the real server and the real shell."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import PtyProcess, cli_env
from tests.conftest import TEST_TOKEN, server_env
from tests.lsp.harness import SERVER_COMMAND, SERVER_DIR

from aurelis.core.log import configure_logging
from aurelis.testing import ModelServer, Reply

SECRET = "gh" + "p_" + "Q1w2E3r4T5y6" * 3
Spawn = Callable[..., PtyProcess]
PROMPT = r"aurelis(\[[^\]]*\])?>"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _serve_once(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    """A short session: a change to a document that is not open, whose URI holds a secret
    (the server logs the URI), then shutdown."""
    uri = f"file:///tmp/{SECRET}.py"
    session: list[dict[str, object]] = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": None, "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didChange",
         "params": {"textDocument": {"uri": uri, "version": 2},
                    "contentChanges": [{"text": f"token = '{SECRET}'"}]}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]  # fmt: skip
    return subprocess.run(
        [*SERVER_COMMAND, *args],
        input=b"".join(_frame(message) for message in session),
        env=env,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def lsp_env(isolated_config: object) -> dict[str, str]:
    server = ModelServer(token=TEST_TOKEN)  # never started: no request is made
    return server_env(server, PYTHONPATH=str(SERVER_DIR), AURELIS_LOG_LEVEL="DEBUG")


def test_the_server_log_file_is_private_and_redacted(
    lsp_env: dict[str, str], tmp_path: Path
) -> None:
    log_file = tmp_path / "logs" / "server.log"

    result = _serve_once(lsp_env, "--log-file", str(log_file))

    assert result.returncode == 0, result.stderr
    text = log_file.read_text()
    assert "which is not open" in text  # the record naming the secret-bearing URI was written
    assert SECRET not in text and "[REDACTED]" in text
    assert _mode(log_file) == 0o600


def test_an_old_world_readable_log_file_is_made_private(
    lsp_env: dict[str, str], tmp_path: Path
) -> None:
    log_file = tmp_path / "server.log"
    log_file.write_text("older lines\n")
    log_file.chmod(0o644)

    _serve_once(lsp_env, "--log-file", str(log_file))

    assert _mode(log_file) == 0o600
    assert log_file.read_text().startswith("older lines\n")  # appended, nothing lost


def test_the_server_never_writes_its_log_through_a_symlink(
    lsp_env: dict[str, str], tmp_path: Path
) -> None:
    victim = tmp_path / "someone-elses.db"
    victim.write_text("precious\n")
    link = tmp_path / "server.log"
    link.symlink_to(victim)

    result = _serve_once(lsp_env, "--log-file", str(link))

    assert result.returncode == 0
    assert victim.read_text() == "precious\n"
    stderr = result.stderr.decode()
    assert "symbolic link" in stderr  # said once, then logging goes to stderr
    assert SECRET not in stderr


def test_tracebacks_in_the_log_file_are_redacted(tmp_path: Path) -> None:
    log_file = tmp_path / "aurelis.log"
    logger = logging.getLogger("aurelis")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    try:
        configure_logging("DEBUG", log_file)
        try:
            raise ValueError(f"params were {{'token': '{SECRET}'}}")
        except ValueError:
            logger.exception("request failed for %s", SECRET)
        for handler in logger.handlers:
            handler.flush()
    finally:
        for handler in logger.handlers:
            if handler not in saved[0]:
                handler.close()
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
    text = log_file.read_text()
    assert "Traceback" in text and "ValueError" in text
    assert SECRET not in text
    assert _mode(log_file) == 0o600


# --- shell history ---------------------------------------------------------------------------
@pytest.fixture
def history_server() -> Iterator[ModelServer]:
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    server.set_default("*", Reply(content="ok"))
    yield server
    server.stop_thread()


def _type_and_leave(spawn: Spawn, env: dict[str, str], line: str) -> PtyProcess:
    shell = spawn(["shell"], env)
    shell.expect(PROMPT)
    shell.sendline(line)
    shell.expect(r"tokens")  # the answer's summary line: the request finished
    shell.expect(PROMPT)
    shell.sendline("/exit")
    assert shell.wait() == 0
    return shell


def test_shell_history_is_private_and_redacted(
    spawn: Spawn, history_server: ModelServer, tmp_path: Path
) -> None:
    history = tmp_path / "data" / "history"
    env = cli_env(history_server, AURELIS_HISTORY_FILE=str(history))

    _type_and_leave(spawn, env, f"why does token {SECRET} fail? history_marker")

    text = history.read_text()
    assert "history_marker" in text and SECRET not in text
    assert _mode(history) == 0o600


def test_an_old_world_readable_history_is_made_private(
    spawn: Spawn, history_server: ModelServer, tmp_path: Path
) -> None:
    history = tmp_path / "history"
    history.write_text("\n# 2026-01-01 00:00:00\n+an old prompt\n")
    history.chmod(0o644)

    _type_and_leave(spawn, cli_env(history_server, AURELIS_HISTORY_FILE=str(history)), "hello")

    assert _mode(history) == 0o600
    assert "+an old prompt" in history.read_text()


def test_shell_history_is_never_written_through_a_symlink(
    spawn: Spawn, history_server: ModelServer, tmp_path: Path
) -> None:
    victim = tmp_path / "notes.txt"
    victim.write_text("precious\n")
    link = tmp_path / "history"
    link.symlink_to(victim)

    shell = _type_and_leave(spawn, cli_env(history_server, AURELIS_HISTORY_FILE=str(link)), "hi")

    assert victim.read_text() == "precious\n"
    assert "history not saved" in shell.text and "symbolic link" in shell.text


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    started: list[PtyProcess] = []

    def start(args: list[str], env: dict[str, str]) -> PtyProcess:
        env = {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
        env.pop("NO_COLOR", None)
        process = PtyProcess([sys.executable, "-m", "aurelis", *args], env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
