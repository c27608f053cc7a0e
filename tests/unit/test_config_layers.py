"""Settings checked layer by layer, endpoints checked when configured, and a broken layer
or value left out without taking the rest down (what the language server loads)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.config_layers import layer_problems, load_config_tolerant
from aurelis.core.exceptions import ConfigurationError


def _user_file() -> Path:
    return Path(os.environ["AURELIS_CONFIG_FILE"])


def _project_file() -> Path:
    return Path(os.environ["AURELIS_PROJECT_ROOT"]) / ".aurelis.toml"


@pytest.mark.parametrize(
    "endpoint", ["http://", "http://h:99999", "http://u:p@h", "http://[::1", "ftp://h"]
)
def test_malformed_endpoints_are_configuration_errors(endpoint: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid setting endpoint"):
        AurelisConfig(endpoint=endpoint)


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:8080/v1", "https://x.openai.azure.com/", "http://[::1]:11434"]
)
def test_well_formed_endpoints_are_accepted(endpoint: str) -> None:
    assert AurelisConfig(endpoint=endpoint).endpoint == endpoint.rstrip("/")


def test_a_value_shadowed_by_the_environment_is_still_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _project_file().write_text("deadline = -1\n")
    monkeypatch.setenv("AURELIS_DEADLINE", "30")

    assert AurelisConfig().deadline == 30
    problems = layer_problems()

    assert [problem.layer for problem in problems] == ["project"]
    assert "deadline=-1" in problems[0].error.message
    assert str(_project_file()) in problems[0].error.message


def test_a_bad_value_is_left_out_and_the_rest_of_its_layer_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _user_file().write_text("max_retries = 7\ndeadline = -3\n")
    monkeypatch.setenv("AURELIS_DEPLOYMENTS", "not json")
    monkeypatch.setenv("AURELIS_REQUEST_TIMEOUT", "12")

    config, errors = load_config_tolerant()

    assert (config.max_retries, config.deadline, config.request_timeout) == (7, 120.0, 12)
    assert config.deployments == {}
    messages = " | ".join(error.message for error in errors)
    assert "deadline=-3" in messages and "AURELIS_DEPLOYMENTS" in messages
    assert "not json" not in messages


def test_an_unreadable_file_is_left_out_whole() -> None:
    _user_file().write_bytes(b"\xff\xfe\x00")

    config, errors = load_config_tolerant()

    assert config.max_retries == AurelisConfig.defaults().max_retries
    assert len(errors) == 1 and "not UTF-8" in errors[0].message
