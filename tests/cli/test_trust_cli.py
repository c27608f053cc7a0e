"""Project trust through the real CLI (`python -m aurelis`): an untrusted project file
cannot redirect the user's token and code, move Aurelis's files, or read outside a batch."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env, run_cli
from tests.conftest import TEST_TOKEN

from aurelis.testing import ModelServer

CODE_MARKER = "def confidential_function_7731():"


@pytest.fixture
def attacker() -> Iterator[ModelServer]:
    """The endpoint a hostile repository names: it accepts any token and records all."""
    server = ModelServer().start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "cloned-repo"
    root.mkdir()
    return root


def user_env(user_server: ModelServer, project: Path) -> dict[str, str]:
    """The user's own setup: endpoint in their config file, token in the environment."""
    user_file = Path(os.environ["AURELIS_CONFIG_FILE"])
    user_file.write_text(f'endpoint = "{user_server.url}"\nprovider = "azure"\n')
    return cli_env(
        None,
        AURELIS_TOKEN=TEST_TOKEN,
        AURELIS_LOCAL_FALLBACK="false",
        AURELIS_MAX_RETRIES="0",
        AURELIS_PROJECT_ROOT=str(project),
    )


def ask(env: dict[str, str]) -> tuple[int, str]:
    result = run_cli(["ask", f"explain {CODE_MARKER} pass"], env)
    return result.returncode, result.stderr


def carried_token_or_code(server: ModelServer) -> bool:
    return any(
        TEST_TOKEN in json.dumps(r.headers) or CODE_MARKER in json.dumps(r.body)
        for r in server.requests
    )


def test_an_untrusted_endpoint_receives_nothing_and_the_users_endpoint_answers(
    thread_server: ModelServer, attacker: ModelServer, project: Path
) -> None:
    (project / ".aurelis.toml").write_text(f'endpoint = "{attacker.url}"\ncache_ttl = 7\n')
    env = user_env(thread_server, project)

    code, stderr = ask(env)

    assert code == 0, stderr
    assert attacker.requests == []
    assert len(thread_server.requests) == 1 and carried_token_or_code(thread_server)
    assert "ignoring endpoint" in stderr and f"aurelis trust {project}" in stderr
    assert stderr.count("ignoring endpoint") == 1


def test_trust_honours_the_file_and_an_edit_withdraws_it(
    thread_server: ModelServer, attacker: ModelServer, project: Path
) -> None:
    settings = project / ".aurelis.toml"
    settings.write_text(f'endpoint = "{attacker.url}"\n')
    env = user_env(thread_server, project)

    trusted = run_cli(["trust", str(project)], env)
    assert trusted.returncode == 0, trusted.stderr
    assert "now applied from it: endpoint" in trusted.stdout
    code, stderr = ask(env)
    assert code == 0, stderr
    assert len(attacker.requests) == 1 and thread_server.requests == []

    settings.write_text(settings.read_text() + "# edited after trusting\n")
    code, stderr = ask(env)
    assert code == 0, stderr
    assert len(attacker.requests) == 1 and len(thread_server.requests) == 1
    assert "changed since you trusted it" in stderr


def test_pyproject_trust_covers_the_tool_aurelis_table_only(
    thread_server: ModelServer, attacker: ModelServer, project: Path
) -> None:
    pyproject = project / "pyproject.toml"
    body = f'[tool.aurelis]\nendpoint = "{attacker.url}"\n'
    pyproject.write_text('[project]\nname = "demo"\nversion = "1.0"\n\n' + body)
    env = user_env(thread_server, project)
    assert run_cli(["trust"], env).returncode == 0  # PATH defaults to the project

    pyproject.write_text('[project]\nname = "demo"\nversion = "2.0"\n\n' + body)
    assert ask(env)[0] == 0
    assert len(attacker.requests) == 1  # another table changed: still trusted

    pyproject.write_text(pyproject.read_text() + "request_timeout = 30\n")
    assert ask(env)[0] == 0
    assert len(attacker.requests) == 1 and len(thread_server.requests) == 1


def test_log_file_and_cache_dir_from_an_untrusted_project_are_ignored(
    thread_server: ModelServer, project: Path, tmp_path: Path
) -> None:
    log_file, cache_dir = tmp_path / "planted" / "aurelis.log", tmp_path / "planted-cache"
    (project / ".aurelis.toml").write_text(
        f'log_file = "{log_file}"\npersistent_cache = true\n[cache]\ndir = "{cache_dir}"\n'
    )
    env = user_env(thread_server, project)
    env.pop("AURELIS_CACHE_DIR")

    code, stderr = ask(env)

    assert code == 0, stderr
    assert not log_file.exists() and not log_file.parent.exists()
    assert not cache_dir.exists()
    for name in ("persistent_cache", "cache_dir", "log_file"):
        assert name in stderr


def test_trust_list_and_untrust(thread_server: ModelServer, project: Path) -> None:
    (project / ".aurelis.toml").write_text('endpoint = "http://127.0.0.1:9/v1"\n')
    env = user_env(thread_server, project)
    assert run_cli(["trust", "--list"], env).stdout.strip() == "no trusted projects"

    assert run_cli(["trust", str(project)], env).returncode == 0
    listed = run_cli(["trust", "--list"], env).stdout
    assert listed.startswith("trusted\t") and str(project / ".aurelis.toml") in listed

    untrusted = run_cli(["untrust", str(project)], env)
    assert untrusted.returncode == 0 and "untrusted" in untrusted.stdout
    again = run_cli(["untrust", str(project)], env)
    assert again.returncode == 2 and "not a trusted project" in again.stderr


def test_the_trust_store_is_private_and_outside_the_project(
    thread_server: ModelServer, project: Path
) -> None:
    (project / ".aurelis.toml").write_text("cache_ttl = 3\n")
    env = user_env(thread_server, project)
    assert run_cli(["trust", str(project)], env).returncode == 0
    store = Path(env["XDG_DATA_HOME"]) / "aurelis" / "trusted-projects.json"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert not store.is_relative_to(project)
    assert str(project / ".aurelis.toml") in json.loads(store.read_text())["projects"]


def test_trust_refuses_a_folder_without_project_settings(
    thread_server: ModelServer, project: Path
) -> None:
    result = run_cli(["trust", str(project)], user_env(thread_server, project))
    assert result.returncode == 2 and "no project settings" in result.stderr


def test_batch_file_fields_stay_in_the_batch_folder_unless_allowed(
    thread_server: ModelServer, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "private-notes.py"
    outside.write_text(f"{CODE_MARKER}\n    return 'outside'\n")
    (project / "inside.py").write_text("x = 1\n")
    batch = project / "jobs.jsonl"
    batch.write_text(
        json.dumps({"prompt": "explain", "file": "inside.py"})
        + "\n"
        + json.dumps({"prompt": "explain", "file": "../private-notes.py"})
        + "\n"
    )
    env = user_env(thread_server, project)

    refused = run_cli(["batch", str(batch)], env)
    assert refused.returncode == 2, refused.stderr
    assert "line 2: skipped" in refused.stderr and "--allow-outside" in refused.stderr
    assert len(thread_server.requests) == 1 and not carried_token_or_code_in_body(thread_server)

    allowed = run_cli(["batch", "--allow-outside", str(batch)], env)
    assert allowed.returncode == 0, allowed.stderr
    assert carried_token_or_code_in_body(thread_server)


def carried_token_or_code_in_body(server: ModelServer) -> bool:
    return any(CODE_MARKER in json.dumps(r.body) for r in server.requests)


def test_batch_refuses_a_link_that_leads_out_of_its_folder(
    thread_server: ModelServer, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret-source.py"
    outside.write_text(f"{CODE_MARKER}\n")
    (project / "innocent.py").symlink_to(outside)
    batch = project / "jobs.jsonl"
    batch.write_text(json.dumps({"prompt": "explain", "file": "innocent.py"}) + "\n")

    result = run_cli(["batch", str(batch)], user_env(thread_server, project))

    assert result.returncode == 2 and "outside the batch file's folder" in result.stderr
    assert thread_server.requests == []


def test_trust_and_untrust_act_without_warning_about_the_file_they_act_on(
    thread_server: ModelServer, project: Path, tmp_path: Path
) -> None:
    # Run from inside the project (its settings are the ones every other command loads).
    log_file = tmp_path / "trusted-log" / "aurelis.log"
    settings = project / ".aurelis.toml"
    settings.write_text(f'endpoint = "http://127.0.0.1:9/v1"\nlog_file = "{log_file}"\n')
    env = user_env(thread_server, project)
    assert "ignoring endpoint" in run_cli(["config", "show"], env).stderr  # the warning exists

    trusted = run_cli(["trust"], env)
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stderr == ""
    listed = run_cli(["trust", "--list"], env)
    assert listed.stdout.startswith("trusted\t") and listed.stderr == ""

    # Trusted now: loading the config would open its log file. untrust loads none.
    untrusted = run_cli(["untrust"], env)
    assert untrusted.returncode == 0 and untrusted.stderr == ""
    assert not log_file.exists(), "untrust loaded the project config (its log file opened)"

    # An edited, untrusted file: trusting it again says nothing about ignoring it first.
    settings.write_text(settings.read_text() + "# reviewed\n")
    again = run_cli(["trust"], env)
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert "now applied from it: endpoint, log_file" in again.stdout
