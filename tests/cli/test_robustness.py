"""Files, settings and logs that used to crash or hang the CLI get a clear error (exit 2)
or a warning, never a traceback. Each test runs `python -m aurelis` as a real process."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env, run_cli

from aurelis.testing import ModelServer, Reply


def _no_traceback(output: str) -> None:
    assert "Traceback" not in output and "internal error" not in output


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.py"
    os.mkfifo(path)
    return path


# --- --file and batch "file": regular files only, size-bounded ----------------------------
@pytest.mark.parametrize("name", ["/dev/zero", "fifo"])
def test_file_that_is_not_a_regular_file_is_refused_at_once(
    name: str, fifo: Path, tmp_path: Path
) -> None:
    path = str(fifo) if name == "fifo" else name

    result = run_cli(["ask", "--file", path, "explain"], cli_env(None), timeout=30)

    assert result.returncode == 2
    assert "is not a regular file" in result.stderr
    _no_traceback(result.stderr)


def test_line_range_with_thousands_of_digits_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")

    result = run_cli(
        ["ask", "--file", str(source), "--lines", "1-" + "9" * 5000, "explain"], cli_env(None)
    )

    assert result.returncode == 2
    assert "invalid line range" in result.stderr
    assert len(result.stderr) < 500
    _no_traceback(result.stderr)


def test_batch_lines_that_are_wrong_are_skipped_with_the_reason(
    tmp_path: Path, fifo: Path, thread_server: ModelServer
) -> None:
    thread_server.set_default("*", Reply(content="ok"))
    batch = tmp_path / "requests.jsonl"
    lines = [
        '\ufeff{"prompt": "first line after a byte order mark", "id": "bom"}',
        '{"prompt": "numbers are not models", "model": 5}',
        json.dumps({"prompt": "a pipe", "file": fifo.name}),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"prompt": "still runs", "id": "last"}),
    ]
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run_cli(["batch", str(batch)], cli_env(thread_server), timeout=60)

    assert result.returncode == 2  # malformed lines, no failed request
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["id"] for record in records] == ["bom", "last"]
    assert "line 2: skipped: `model` must be a string, got a number" in result.stderr
    assert "line 3: skipped:" in result.stderr and "not a regular file" in result.stderr
    assert "line 4: skipped: invalid JSON (nested too deeply)" in result.stderr
    _no_traceback(result.stderr)


# --- logging -------------------------------------------------------------------------------
def test_an_unwritable_log_file_falls_back_to_stderr_with_one_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    env = cli_env(None, AURELIS_LOG_FILE=str(blocker / "aurelis.log"))

    result = run_cli(["config", "check"], env)

    assert result.returncode == 0
    assert result.stderr.count("warning: cannot write the log file") == 1
    _no_traceback(result.stderr)


def test_serve_with_a_log_file_it_cannot_write_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")

    result = run_cli(["serve", "--log-file", str(blocker / "server.log")], cli_env(None))

    assert result.returncode == 2
    assert "cannot write the log file" in result.stderr
    _no_traceback(result.stderr)


def test_serve_on_an_unresolvable_host_exits_2() -> None:
    result = run_cli(["serve", "--tcp", "no-such-host.invalid:2087"], cli_env(None))

    assert result.returncode == 2
    assert "cannot listen on no-such-host.invalid:2087" in result.stderr
    _no_traceback(result.stderr)


# --- settings ------------------------------------------------------------------------------
def test_a_binary_config_file_is_exit_2_naming_the_file() -> None:
    env = cli_env(None)
    Path(env["AURELIS_CONFIG_FILE"]).write_bytes(b"\xff\xfe\x00\x01binary")

    result = run_cli(["config", "check"], env)

    assert result.returncode == 2
    assert env["AURELIS_CONFIG_FILE"] in result.stderr and "not UTF-8" in result.stderr
    _no_traceback(result.stderr)


def test_a_config_value_nested_5000_deep_is_exit_2() -> None:
    env = cli_env(None)
    Path(env["AURELIS_CONFIG_FILE"]).write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")

    result = run_cli(["config", "check"], env)

    assert result.returncode == 2
    assert "nests values too deeply" in result.stderr
    _no_traceback(result.stderr)


def test_non_json_deployments_is_exit_2_naming_the_variable() -> None:
    result = run_cli(["ask", "hi"], cli_env(None, AURELIS_DEPLOYMENTS="gpt-4o=mine"))

    assert result.returncode == 2
    assert "AURELIS_DEPLOYMENTS" in result.stderr and "gpt-4o=mine" not in result.stderr
    _no_traceback(result.stderr)


@pytest.mark.parametrize(
    ("endpoint", "complaint"),
    [
        ("http://", "a host name"),
        ("http://h:99999", "Port out of range"),
        ("http://u:p@h", "without user:password@"),
        ("http://[::1", "Invalid IPv6 URL"),
    ],
)
def test_a_malformed_endpoint_is_refused_when_configured(endpoint: str, complaint: str) -> None:
    result = run_cli(["config", "check"], cli_env(None, AURELIS_ENDPOINT=endpoint))

    assert result.returncode == 2
    assert complaint in result.stderr
    _no_traceback(result.stderr)


@pytest.mark.parametrize("endpoint", ["http://h:99999", "http://[::1"])
def test_doctor_reports_a_malformed_endpoint_and_exits_2(endpoint: str) -> None:
    result = run_cli(["doctor"], cli_env(None, AURELIS_ENDPOINT=endpoint))

    assert result.returncode == 2
    _no_traceback(result.stdout + result.stderr)


def test_config_check_finds_a_bad_project_value_the_environment_shadows(tmp_path: Path) -> None:
    env = cli_env(None, AURELIS_MAX_RETRIES="3")
    project = Path(env["AURELIS_PROJECT_ROOT"])
    (project / ".aurelis.toml").write_text("max_retries = -4\n")

    result = run_cli(["config", "check"], env)

    assert result.returncode == 2
    assert "max_retries=-4" in result.stderr and ".aurelis.toml" in result.stderr


def test_a_negative_context_window_is_refused() -> None:
    env = cli_env(None, AURELIS_CONTEXT_WINDOWS='{"gpt-4o": -100}')

    result = run_cli(["config", "check"], env)

    assert result.returncode == 2
    assert "context_windows" in result.stderr and "at least 1 token" in result.stderr


# --- the persistent cache ------------------------------------------------------------------
def test_a_malformed_cache_row_is_dropped_not_fatal(
    tmp_path: Path, thread_server: ModelServer
) -> None:
    thread_server.set_default("*", Reply(content="cached answer"))
    cache_dir = tmp_path / "cache"
    env = cli_env(thread_server, AURELIS_PERSISTENT_CACHE="true", AURELIS_CACHE_DIR=str(cache_dir))
    ask = ["ask", "--json", "--model", "gpt-4o-mini", "what is a row"]
    assert run_cli(ask, env).returncode == 0
    with sqlite3.connect(cache_dir / "responses.sqlite3") as db:
        changed = db.execute("UPDATE entries SET stored_at = 'yesterday'").rowcount
    assert changed == 1

    again = run_cli(ask, env)
    third = run_cli(ask, env)

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["content"] == "cached answer"
    assert len(thread_server.requests) == 2  # the bad row was dropped and the answer fetched
    assert json.loads(third.stdout)["cached"] is True  # and stored again, readable
