"""Configuration: sources, precedence, validation, and live reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurelis.core.config import (
    LEGACY_GITHUB_MODELS_ENDPOINT,
    AurelisConfig,
    get_config,
    load_config,
    reset_config,
)
from aurelis.core.exceptions import ConfigurationError
from aurelis.core.trust import TrustStore, read_project_file
from aurelis.models import ModelType, TaskType


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def user_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "user" / "config.toml"
    monkeypatch.setenv("AURELIS_CONFIG_FILE", str(path))
    return path


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    monkeypatch.setenv("AURELIS_PROJECT_ROOT", str(root))
    return root


def test_defaults() -> None:
    config = load_config()
    assert config.endpoint == LEGACY_GITHUB_MODELS_ENDPOINT
    assert (config.cache_enabled, config.cache_ttl, config.cache_max_size) == (True, 1800, 1000)
    assert config.token is None and not config.remote_enabled


def test_get_config_is_one_shared_mutable_object() -> None:
    config = get_config()
    config.cache_ttl = 3600
    assert get_config() is config and get_config().cache_ttl == 3600


def test_precedence_explicit_over_env_over_project_over_user(
    monkeypatch: pytest.MonkeyPatch, user_file: Path, project: Path
) -> None:
    write(user_file, "cache_ttl = 10\ncache_max_size = 11\nrequest_timeout = 12\nmax_retries = 4\n")
    write(project / ".aurelis.toml", "cache_ttl = 20\ncache_max_size = 21\nrequest_timeout = 22\n")
    monkeypatch.setenv("AURELIS_CACHE_TTL", "30")
    monkeypatch.setenv("AURELIS_CACHE_MAX_SIZE", "31")
    config = load_config(cache_ttl=40)
    assert config.cache_ttl == 40  # explicit
    assert config.cache_max_size == 31  # env
    assert config.request_timeout == 22  # project
    assert config.max_retries == 4  # user


def test_project_settings_in_pyproject_tool_table(project: Path) -> None:
    write(
        project / "pyproject.toml",
        '[tool.aurelis]\nendpoint = "http://localhost:11434/v1"\n'
        '[tool.aurelis.routing]\ngeneral = "mistral-nemo"\n[tool.aurelis.cache]\nttl = 5\n',
    )
    # endpoint is sensitive: it applies once the project is trusted (tests/security).
    TrustStore().trust(read_project_file(project / "pyproject.toml"))
    config = load_config()
    assert config.endpoint == "http://localhost:11434/v1"
    assert config.routing == {TaskType.GENERAL: ModelType.MISTRAL_NEMO}
    assert config.cache_ttl == 5
    assert config.remote_enabled  # an explicit endpoint needs no token (Ollama)


def test_token_from_github_token_or_aurelis_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "gh-secret-value")
    config = load_config()
    assert config.token.get_secret_value() == "gh-secret-value"
    assert config.token_source == "GITHUB_TOKEN"
    monkeypatch.setenv("AURELIS_TOKEN", "aurelis-secret-value")
    config = load_config()
    assert config.token.get_secret_value() == "aurelis-secret-value"
    assert config.token_source == "AURELIS_TOKEN"
    assert "secret-value" not in repr(config)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("cache_ttl", -5, "greater than or equal to 0"),
        ("cache_enabled", "maybe", "boolean"),
        ("endpoint", "ftp://example", "http"),
        ("provider", "openai", "'auto'"),
        ("deployments", {"gpt-5": "x"}, "gpt-4o-mini"),
        ("request_timeout", 0, "greater than 0"),
    ],
)
def test_bad_value_names_key_value_and_expected_form(key, value, expected) -> None:
    config = get_config()
    before = getattr(config, key)
    with pytest.raises(ConfigurationError) as raised:
        setattr(config, key, value)
    message = str(raised.value)
    assert key in message and expected in message
    assert raised.value.key.startswith(key)
    assert getattr(config, key) == before  # nothing lost


def test_bad_env_value_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURELIS_CACHE_MAX_SIZE", "lots")
    with pytest.raises(ConfigurationError) as raised:
        load_config()
    assert "cache_max_size='lots'" in str(raised.value)


def test_unknown_setting_in_a_file_is_rejected(user_file: Path) -> None:
    write(user_file, "cache_tll = 5\n")
    with pytest.raises(ConfigurationError) as raised:
        load_config()
    assert "cache_tll" in str(raised.value)


def test_broken_toml_names_the_file(user_file: Path) -> None:
    write(user_file, "cache_ttl = = 5\n")
    with pytest.raises(ConfigurationError) as raised:
        load_config()
    assert str(user_file) in str(raised.value)


def test_update_is_atomic() -> None:
    config = get_config()
    with pytest.raises(ConfigurationError):
        config.update({"cache_ttl": 5, "cache_max_size": -1})
    assert config.cache_ttl == 1800


def test_token_value_never_appears_in_errors() -> None:
    with pytest.raises(ConfigurationError) as raised:
        AurelisConfig(token=["not", "a", "string-secret"])
    assert "string-secret" not in str(raised.value)


def test_reset_config_replaces_the_process_wide_object() -> None:
    first = get_config()
    assert reset_config() is not first and get_config() is not first


def test_unknown_setting_in_update_is_rejected_and_nothing_changes() -> None:
    config = get_config()
    with pytest.raises(ConfigurationError) as raised:
        config.update({"cache_ttl": 7, "cache_tll": 5})
    assert raised.value.key == "cache_tll"
    assert config.cache_ttl == 1800
