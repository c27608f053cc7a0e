"""The trust policy: every setting classified, sensitive ones withheld from untrusted
projects (through the real config loader), routing judged by where it moves work."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurelis.core.config import AurelisConfig, load_config
from aurelis.core.trust import (
    TrustStore,
    read_project_file,
    set_ignored_notifier,
    set_project_scope,
)
from aurelis.core.trust_policy import HARMLESS, ROUTING, SENSITIVE, SETTING_TRUST
from aurelis.models import ModelType, TaskType
from aurelis.models.routing import DEFAULT_ROUTES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "security.md"
#: Settings classified ahead of their arrival (the Redis work adds `redis_url`).
ANNOUNCED = {"redis_url"}


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setenv("AURELIS_PROJECT_ROOT", str(root))
    return root


@pytest.fixture
def heard() -> Iterator[list[str]]:
    messages: list[str] = []
    set_ignored_notifier(lambda ignored: messages.append(ignored.message()))
    yield messages
    set_ignored_notifier(None)
    set_project_scope(None)


def test_every_setting_has_exactly_one_classification() -> None:
    fields = set(AurelisConfig.model_fields)
    unclassified = fields - set(SETTING_TRUST)
    assert not unclassified, f"classify these in core/trust_policy.py: {sorted(unclassified)}"
    assert set(SETTING_TRUST) - fields <= ANNOUNCED


def test_docs_show_every_setting_with_its_class() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Trust model") :]
    section = section.split("\n## ", 1)[0]  # up to the next top-level section
    rows = dict(re.findall(r"^\| `(\w+)` \| (\w+) \|", section, flags=re.MULTILINE))
    assert rows == {name: trust.level for name, trust in SETTING_TRUST.items()}


def test_the_settings_that_move_data_are_sensitive() -> None:
    for name in ("endpoint", "token", "token_source", "provider", "redis_url", "log_file"):
        assert SETTING_TRUST[name].level == SENSITIVE
    for name in ("cache_dir", "local_model_path", "persistent_cache"):
        assert SETTING_TRUST[name].level == SENSITIVE
    for name in ("deployments", "rate_limits", "request_timeout", "cache_ttl"):
        assert SETTING_TRUST[name].level == HARMLESS
    assert SETTING_TRUST["routing"].level == SETTING_TRUST["fallback_chains"].level == ROUTING


def test_every_built_in_route_is_remote() -> None:
    # The routing rule relies on it: only the user's own routes send a task to local.
    assert ModelType.LOCAL not in DEFAULT_ROUTES.values()


def test_untrusted_sensitive_settings_are_withheld_and_harmless_ones_apply(
    project: Path, heard: list[str]
) -> None:
    (project / ".aurelis.toml").write_text(
        'endpoint = "http://127.0.0.1:9/v1"\nprovider = "azure"\nlocal_model_path = "/x.gguf"\n'
        '[cache]\nttl = 5\n[deployments]\ngpt-4o = "team-gpt"\n'
    )
    config = load_config()
    assert config.endpoint != "http://127.0.0.1:9/v1" and config.provider == "auto"
    assert config.local_model_path is None
    assert config.cache_ttl == 5 and config.deployments == {ModelType.GPT_4O: "team-gpt"}
    assert len(heard) == 1
    assert "endpoint, provider, local_model_path" in heard[0] and "aurelis trust" in heard[0]


def test_a_token_in_an_untrusted_project_file_is_not_used(project: Path, heard: list[str]) -> None:
    (project / ".aurelis.toml").write_text('token = "ghp_planted0123456789"\n')
    config = load_config()
    assert config.token is None and config.token_source is None


def test_routing_that_moves_a_local_task_off_the_machine_needs_trust(
    project: Path, heard: list[str]
) -> None:
    Path(os.environ["AURELIS_CONFIG_FILE"]).write_text('[routing]\ntesting = "local"\n')
    (project / ".aurelis.toml").write_text(
        '[routing]\ntesting = "gpt-4o"\ngeneral = "mistral-nemo"\n'
        '[fallback_chains]\nlocal = ["gpt-4o"]\ngpt-4o = ["gpt-4o-mini"]\n'
    )
    config = load_config()
    # Among remote models: applies. Local to remote: withheld, the user's route stands.
    assert config.routing == {
        TaskType.TESTING: ModelType.LOCAL,
        TaskType.GENERAL: ModelType.MISTRAL_NEMO,
    }
    assert config.fallback_chains == {ModelType.GPT_4O: [ModelType.GPT_4O_MINI]}
    assert "routing.testing" in heard[0] and "fallback_chains.local" in heard[0]

    TrustStore().trust(read_project_file(project / ".aurelis.toml"))
    trusted = load_config()
    assert trusted.routing[TaskType.TESTING] is ModelType.GPT_4O
    assert trusted.fallback_chains[ModelType.LOCAL] == [ModelType.GPT_4O]


def test_the_warning_is_given_once_per_file_version(project: Path, heard: list[str]) -> None:
    settings = project / ".aurelis.toml"
    settings.write_text('endpoint = "http://127.0.0.1:9/v1"\n')
    load_config()
    load_config()
    assert len(heard) == 1
    settings.write_text('endpoint = "http://127.0.0.1:8/v1"\n')
    load_config()
    assert len(heard) == 2


def test_restricted_mode_withholds_even_trusted_settings(project: Path, heard: list[str]) -> None:
    (project / ".aurelis.toml").write_text('endpoint = "http://127.0.0.1:9/v1"\ncache_ttl = 4\n')
    TrustStore().trust(read_project_file(project / ".aurelis.toml"))
    set_project_scope([project], restricted=True)
    config = load_config()
    assert config.endpoint != "http://127.0.0.1:9/v1" and config.cache_ttl == 4
    assert "restricted mode" in heard[0]


def test_editor_roots_replace_the_cwd_and_the_first_root_wins(
    project: Path, tmp_path: Path, heard: list[str]
) -> None:
    (project / ".aurelis.toml").write_text("cache_ttl = 1\n")
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    (first / ".aurelis.toml").write_text("cache_ttl = 11\n")
    (second / ".aurelis.toml").write_text("cache_ttl = 22\nmax_retries = 7\n")
    set_project_scope([first, second])
    config = load_config()
    assert (config.cache_ttl, config.max_retries) == (11, 7)
    set_project_scope([])
    assert load_config().cache_ttl == AurelisConfig.defaults().cache_ttl


def test_pyproject_digest_covers_the_tool_aurelis_table_only(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[project]\nname = "a"\n[tool.aurelis]\ncache_ttl = 3\n')
    first = read_project_file(pyproject).digest
    pyproject.write_text('[project]\nname = "b"\n\n[tool.aurelis]\ncache_ttl   =   3\n')
    assert read_project_file(pyproject).digest == first
    pyproject.write_text('[project]\nname = "b"\n[tool.aurelis]\ncache_ttl = 4\n')
    assert read_project_file(pyproject).digest != first


def test_telemetry_exporters_from_an_untrusted_project_are_ignored_until_trusted(
    project: Path, heard: list[str]
) -> None:
    (project / ".aurelis.toml").write_text(
        'metrics_port = 9464\notlp_endpoint = "http://collector.example:4318"\n'
        "suggestion_retention_checks = [5, 10]\n"
    )
    untrusted = load_config()
    assert untrusted.metrics_port is None and untrusted.otlp_endpoint is None
    assert untrusted.suggestion_retention_checks == (5.0, 10.0)  # harmless: applies
    assert len(heard) == 1 and "metrics_port, otlp_endpoint" in heard[0]

    TrustStore().trust(read_project_file(project / ".aurelis.toml"))
    trusted = load_config()
    assert trusted.metrics_port == 9464
    assert trusted.otlp_endpoint == "http://collector.example:4318"
