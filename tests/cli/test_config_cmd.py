"""`aurelis config show|path|check` and the source attribution behind it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from aurelis.core.config import get_config, reset_config
from aurelis.core.config_sources import SettingSource, setting_sources

Invoke = Callable[..., Result]
SECRET = "ghp_" + "s" * 36


@pytest.fixture
def layered(monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A user file, a project file and environment variables, each setting something."""
    user = Path(os.environ["AURELIS_CONFIG_FILE"])
    user.write_text("request_timeout = 30\ncache_ttl = 99\n[cache]\nmax_size = 5\n")
    project = Path(os.environ["AURELIS_PROJECT_ROOT"]) / ".aurelis.toml"
    project.write_text('cache_ttl = 120\nendpoint = "http://127.0.0.1:9/v1"\n')
    monkeypatch.setenv("AURELIS_LOG_LEVEL", "warning")
    monkeypatch.setenv("GITHUB_TOKEN", SECRET)
    reset_config()
    return {"user": user, "project": project}


def test_setting_sources_follow_the_precedence(layered: dict[str, Path]) -> None:
    sources = setting_sources(get_config())
    assert sources["log_level"] == SettingSource("env", "AURELIS_LOG_LEVEL")
    assert sources["token"] == SettingSource("env", "GITHUB_TOKEN")
    # The project file wins over the user file for the same key.
    assert sources["cache_ttl"] == SettingSource("project", str(layered["project"]))
    assert sources["request_timeout"] == SettingSource("user", str(layered["user"]))
    assert sources["cache_max_size"] == SettingSource("user", str(layered["user"]))
    assert sources["deadline"] == SettingSource("default")


def test_a_value_changed_at_run_time_is_attributed_to_that(layered: dict[str, Path]) -> None:
    config = get_config()
    config.deadline = 5
    assert setting_sources(config)["deadline"] == SettingSource("runtime")


def test_show_json_has_values_and_sources_and_hides_the_token(
    invoke: Invoke, layered: dict[str, Path]
) -> None:
    result = invoke(["config", "show", "--json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows["cache_ttl"] == {"value": 120, "source": f"project file {layered['project']}"}
    assert rows["log_level"] == {"value": "WARNING", "source": "environment AURELIS_LOG_LEVEL"}
    assert rows["token"] == {"value": "set (hidden)", "source": "environment GITHUB_TOKEN"}
    assert rows["deadline"]["source"] == "default"
    assert SECRET not in result.stdout


def test_show_table_never_prints_the_token(invoke: Invoke, layered: dict[str, Path]) -> None:
    result = invoke(["config", "show"])
    assert result.exit_code == 0, result.stderr
    assert "request_timeout" in result.stdout and "user file" in result.stdout
    assert SECRET not in result.stdout and SECRET[:12] not in result.stdout


def test_credentials_inside_values_are_masked(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A credential in the endpoint URL is refused, and the refusal masks it.
    monkeypatch.setenv("AURELIS_ENDPOINT", "https://user:hunter2secret@example.test/v1")
    result = invoke(["config", "check"])
    assert result.exit_code == 2
    assert "hunter2secret" not in result.stdout + result.stderr
    assert "https://[REDACTED]@example.test" in result.stderr


def test_path_lists_both_files(invoke: Invoke, layered: dict[str, Path]) -> None:
    result = invoke(["config", "path", "--json"])
    assert json.loads(result.stdout) == {
        "user": str(layered["user"]),
        "user_exists": True,
        "project": str(layered["project"]),
    }


def test_check_passes_a_valid_config_and_warns_about_a_missing_model(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AURELIS_LOCAL_MODEL_PATH", str(tmp_path / "gone.gguf"))
    result = invoke(["config", "check"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("config OK: offline")
    assert "warning: local_model_path" in result.stdout


def test_check_rejects_an_invalid_file_with_exit_2(invoke: Invoke) -> None:
    Path(os.environ["AURELIS_CONFIG_FILE"]).write_text("cache_ttl = -5\n")
    result = invoke(["config", "check"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid setting cache_ttl=-5")
    assert "hint: " in result.stderr


def test_check_rejects_an_unknown_key_and_broken_toml(invoke: Invoke) -> None:
    user = Path(os.environ["AURELIS_CONFIG_FILE"])
    user.write_text("endpont = 'http://x'\n")
    unknown = invoke(["config", "check", "--json"])
    assert unknown.exit_code == 2
    assert "endpont" in json.loads(unknown.stdout)["error"]
    user.write_text("this is [not toml\n")
    broken = invoke(["config", "check"])
    assert broken.exit_code == 2 and "cannot read config file" in broken.stderr
