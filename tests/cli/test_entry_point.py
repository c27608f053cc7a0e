"""The real console entry point (`python -m aurelis`) as a subprocess: exit codes, output
streams, and offline behaviour with no token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env, run_cli

from aurelis.testing import ModelServer, Reply


def test_success_exits_0_with_one_json_object(thread_server: ModelServer) -> None:
    thread_server.set_default("*", Reply(content="def f():\n    return 1\n"))
    done = run_cli(["ask", "--json", "write a function"], cli_env(thread_server))
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["content"] == "def f():\n    return 1\n"
    assert payload["model_used"] == "codestral-2501"


def test_plain_output_then_summary_line(thread_server: ModelServer) -> None:
    thread_server.set_default("*", Reply(content="def f():\n    return 1"))
    done = run_cli(["generate", "--no-stream", "a Python function"], cli_env(thread_server))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "def f():\n    return 1\n"
    assert done.stderr.strip().startswith("model: codestral-2501 · tokens: ")


def test_a_model_failure_exits_1(thread_server: ModelServer) -> None:
    thread_server.set_default("*", Reply(status=503))
    done = run_cli(["ask", "hello"], cli_env(thread_server))
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "\nhint: " in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_usage_and_configuration_errors_exit_2(thread_server: ModelServer) -> None:
    missing = run_cli(["ask"], cli_env(thread_server))
    assert missing.returncode == 2 and missing.stderr.startswith("error: missing PROMPT")
    bad_config = run_cli(["ask", "hi"], cli_env(thread_server, AURELIS_PROVIDER="bogus"))
    assert bad_config.returncode == 2
    assert bad_config.stderr.startswith("error: invalid setting provider='bogus'")
    assert "aurelis config check" in bad_config.stderr
    assert thread_server.requests == []


def test_no_arguments_prints_usage_and_exits_2() -> None:
    done = run_cli([], cli_env(None))
    assert done.returncode == 2
    assert "Usage: aurelis" in done.stdout + done.stderr


def test_version() -> None:
    done = run_cli(["--version"], cli_env(None))
    assert done.returncode == 0 and done.stdout.startswith("aurelis ")


def test_offline_without_a_usable_local_model_exits_1_with_a_hint(tmp_path: Path) -> None:
    env = cli_env(None, AURELIS_LOCAL_MODEL_PATH=str(tmp_path / "missing.gguf"))
    done = run_cli(["generate", "--no-stream", "a function"], env)
    assert done.returncode == 1
    assert "missing.gguf" in done.stderr and "hint: " in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.local_model
def test_offline_generation_runs_on_the_local_model() -> None:
    done = run_cli(
        ["generate", "--json", "--max-tokens", "8", "def add(a, b):"], cli_env(None), timeout=300
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert payload["model_used"] == "local"
    assert payload["metadata"]["endpoint"] == "local"
    assert 0 < payload["metadata"]["completion_tokens"] <= 8
