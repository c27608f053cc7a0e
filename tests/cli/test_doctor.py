"""`aurelis doctor`: endpoint, token, local model, editors; exit codes; offline use."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env, run_cli
from tests.conftest import TEST_TOKEN
from typer.testing import Result

from aurelis.cli import doctor
from aurelis.core.config import AurelisConfig
from aurelis.testing import ModelServer

Invoke = Callable[..., Result]


def _checks(result: Result) -> dict[str, dict]:
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


def test_a_working_endpoint_passes(
    invoke: Invoke, cli_remote: AurelisConfig, thread_server: ModelServer
) -> None:
    result = invoke(["doctor", "--json"])
    assert result.exit_code == 0, result.stdout
    checks = _checks(result)
    assert checks["endpoint reachable"]["status"] == "ok"
    assert checks["token present"]["detail"] == "from AURELIS_TOKEN"
    assert checks["token accepted"]["status"] == "ok"
    # One probe of one token went to the endpoint, with the real credential.
    assert len(thread_server.requests) == 1
    assert thread_server.requests[0].body["max_tokens"] == 1


def test_a_rejected_token_fails_with_exit_1(
    invoke: Invoke, cli_remote: AurelisConfig, thread_server: ModelServer
) -> None:
    thread_server.token = "some-other-token-123456"
    result = invoke(["doctor"])
    assert result.exit_code == 1
    assert "✗ token accepted:" in result.stdout and "rejected" in result.stdout
    assert "hint: check AURELIS_TOKEN" in result.stdout
    assert TEST_TOKEN not in result.stdout


def test_an_unreachable_endpoint_fails_fast(invoke: Invoke, cli_remote: AurelisConfig) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli_remote.endpoint = f"http://127.0.0.1:{port}"
    result = invoke(["doctor", "--json"])
    assert result.exit_code == 1
    checks = _checks(result)
    assert checks["endpoint reachable"]["status"] == "fail"
    assert checks["token accepted"]["status"] == "skip"


def test_offline_without_a_token_checks_only_the_local_side(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, isolated_config: AurelisConfig, tmp_path: Path
) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)
    isolated_config.local_model_path = model
    result = invoke(["doctor", "--json"])
    checks = _checks(result)
    assert checks["mode"]["detail"].startswith("offline")
    assert checks["endpoint reachable"]["status"] == "skip"
    assert checks["token present"]["status"] == "skip"
    assert checks["local model"]["status"] == "ok" and str(model) in checks["local model"]["detail"]
    # A file with the right magic but no model in it is caught by running it.
    runs = checks["local model runs"]
    assert runs["status"] == "fail" and "does not run here" in runs["detail"]
    assert result.exit_code == 1


@pytest.mark.local_model
def test_doctor_runs_the_embedded_model_and_shows_its_build(
    invoke: Invoke, isolated_config: AurelisConfig
) -> None:
    result = invoke(["doctor", "--json"])
    runs = _checks(result)["local model runs"]
    assert runs["status"] == "ok", runs
    assert "tokens/s" in runs["detail"] and "CPU features:" in runs["detail"]
    assert "AMX" not in runs["detail"]  # the portable build never compiles AMX in


def test_offline_with_a_broken_local_model_fails(
    invoke: Invoke, isolated_config: AurelisConfig, tmp_path: Path
) -> None:
    model = tmp_path / "not-a-model.gguf"
    model.write_text("hello")
    isolated_config.local_model_path = model
    result = invoke(["doctor"])
    assert result.exit_code == 1
    assert "not a GGUF file" in result.stdout


def test_an_invalid_config_exits_2() -> None:
    done = run_cli(["doctor"], cli_env(None, AURELIS_DEADLINE="soon"))
    assert done.returncode == 2
    assert "✗ config: invalid setting deadline='soon'" in done.stdout


def test_editor_hints_are_given(invoke: Invoke, isolated_config: AurelisConfig) -> None:
    result = invoke(["doctor", "--json"])
    names = set(_checks(result))
    assert "language server" in names
    assert names & {"VS Code", "Neovim", "editors"}


def test_doctor_names_a_launch_line_that_keeps_the_cwd_off_sys_path(
    invoke: Invoke, isolated_config: AurelisConfig
) -> None:
    detail = _checks(invoke(["doctor", "--json"]))["language server"]["detail"]
    line = detail.removeprefix("start it with: ")
    # `python -m aurelis serve` run in a workspace holding aurelis/__main__.py runs its code.
    assert line.endswith("aurelis serve") and " -m aurelis" not in line.replace(" -P -m", ""), line


def test_the_launch_line_is_the_console_script_beside_the_interpreter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "aurelis"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    assert doctor._serve_command(str(bin_dir / "python")) == f"{script} serve"


def test_without_a_console_script_the_launch_line_is_python_dash_p(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    python = str(tmp_path / "python3")

    assert doctor._serve_command(python) == f"{python} -P -m aurelis serve"
