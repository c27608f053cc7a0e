"""Task routing: defaults for all nine tasks, config overrides, explicit model wins."""

from __future__ import annotations

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ConfigurationError
from aurelis.models import ModelRequest, ModelType, TaskType
from aurelis.models.catalog import CATALOG
from aurelis.models.routing import (
    deployment_for,
    input_budget,
    output_cap,
    primary_model,
    resolve,
    route,
)
from aurelis.models.server_limits import forget_learned_limits, learn_limit

EXPECTED_ROUTES = {
    TaskType.CODE_GENERATION: ModelType.CODESTRAL_2501,
    TaskType.CODE_COMPLETION: ModelType.CODESTRAL_2501,
    TaskType.CODE_OPTIMIZATION: ModelType.CODESTRAL_2501,
    TaskType.REFACTORING: ModelType.CODESTRAL_2501,
    TaskType.TESTING: ModelType.CODESTRAL_2501,
    TaskType.DOCUMENTATION: ModelType.COHERE_COMMAND_R,
    TaskType.EXPLANATION: ModelType.COHERE_COMMAND_R,
    TaskType.ANALYSIS: ModelType.GPT_4O,
    TaskType.GENERAL: ModelType.GPT_4O_MINI,
}


@pytest.fixture
def online(isolated_config: AurelisConfig) -> AurelisConfig:
    isolated_config.update({"endpoint": "http://127.0.0.1:9/v1", "token": "t0ken-value"})
    return isolated_config


@pytest.mark.parametrize(("task", "model"), EXPECTED_ROUTES.items())
def test_each_task_routes_to_its_default_model(online: AurelisConfig, task, model) -> None:
    assert route(task, online) is model
    assert primary_model(ModelRequest(prompt="x", task_type=task), online) is model


def test_routing_is_overridable_in_config(online: AurelisConfig) -> None:
    online.routing = {"documentation": "gpt-4o"}
    request = ModelRequest(prompt="x", task_type=TaskType.DOCUMENTATION)
    assert primary_model(request, online) is ModelType.GPT_4O
    assert route(TaskType.EXPLANATION, online) is ModelType.COHERE_COMMAND_R


def test_explicit_model_wins_over_routing(online: AurelisConfig) -> None:
    online.routing = {"testing": "gpt-4o"}
    request = ModelRequest(
        prompt="x", task_type=TaskType.TESTING, model_type=ModelType.MISTRAL_NEMO
    )
    assert primary_model(request, online) is ModelType.MISTRAL_NEMO


def test_offline_everything_goes_to_the_local_model(isolated_config: AurelisConfig) -> None:
    assert not isolated_config.remote_enabled
    request = ModelRequest(prompt="x", model_type=ModelType.GPT_4O)
    assert primary_model(request, isolated_config) is ModelType.LOCAL


def test_bad_routing_value_is_a_configuration_error(online: AurelisConfig) -> None:
    with pytest.raises(ConfigurationError) as raised:
        online.routing = {"documentation": "gpt-5"}
    assert "routing" in str(raised.value) and "gpt-5" in str(raised.value)


def test_catalog_has_every_model_with_github_ids() -> None:
    assert set(CATALOG) == set(ModelType)
    assert CATALOG[ModelType.CODESTRAL_2501].deployment == "mistral-ai/Codestral-2501"
    assert CATALOG[ModelType.GPT_4O].rate_tier == "high"
    assert CATALOG[ModelType.GPT_4O_MINI].tier.requests_per_minute == 15
    assert CATALOG[ModelType.LOCAL].provider == "local"


def test_deployment_names_are_overridable_per_model(online: AurelisConfig) -> None:
    online.deployments = {"codestral-2501": "qwen2.5-coder:7b"}
    assert deployment_for(ModelType.CODESTRAL_2501, online) == "qwen2.5-coder:7b"
    assert resolve(ModelType.CODESTRAL_2501, online).deployment == "qwen2.5-coder:7b"
    assert deployment_for(ModelType.GPT_4O, online) == "openai/gpt-4o"


def test_input_budget_is_window_minus_output(online: AurelisConfig) -> None:
    online.context_windows = {"gpt-4o-mini": 8000}
    online.token_count_margin = 1.0
    budget, output = input_budget(resolve(ModelType.GPT_4O_MINI, online), 1000)
    assert (budget, output) == (7000, 1000)


def test_input_budget_leaves_the_token_count_margin(online: AurelisConfig) -> None:
    online.context_windows = {"gpt-4o-mini": 8000}
    online.token_count_margin = 1.4
    budget, output = input_budget(resolve(ModelType.GPT_4O_MINI, online), 1000)
    assert (budget, output) == (5000, 1000)  # 7000 of its tokens are 5000 of ours


def test_what_the_server_said_beats_the_configured_guess(online: AurelisConfig) -> None:
    online.deployments = {"gpt-4o-mini": "gemma"}
    learn_limit(online.endpoint, "gemma", context_window=4096, token_ratio=1.5)
    try:
        resolved = resolve(ModelType.GPT_4O_MINI, online)
        budget, output = input_budget(resolved, 96)
    finally:
        forget_learned_limits()
    assert resolved.context_window == 4096 and resolved.token_ratio == 1.5
    assert (budget, output) == (2666, 96)  # (4096 - 96) / 1.5


def test_each_task_has_a_default_output_cap_below_the_model_limit(online: AurelisConfig) -> None:
    resolved = resolve(ModelType.CODESTRAL_2501, online)
    assert output_cap(resolved, None, TaskType.CODE_GENERATION) == 1024
    assert output_cap(resolved, None, TaskType.DOCUMENTATION) == 512
    assert output_cap(resolved, 2000, TaskType.DOCUMENTATION) == 2000  # asked for: granted
    assert output_cap(resolved, 50_000, TaskType.GENERAL) == 4096  # the model's own limit


def test_output_caps_are_configurable_per_task_and_per_model(online: AurelisConfig) -> None:
    online.task_output_tokens = {"code_generation": 300}
    online.model_output_tokens = {"codestral-2501": 200}
    assert (
        output_cap(resolve(ModelType.CODESTRAL_2501, online), None, TaskType.CODE_GENERATION) == 200
    )
    assert output_cap(resolve(ModelType.GPT_4O, online), None, TaskType.CODE_GENERATION) == 300
    assert output_cap(resolve(ModelType.GPT_4O, online), None, TaskType.TESTING) == 1024


def test_a_small_window_bounds_the_output_to_half_of_it(online: AurelisConfig) -> None:
    online.context_windows = {"codestral-2501": 1000}
    assert output_cap(resolve(ModelType.CODESTRAL_2501, online), None, TaskType.TESTING) == 500
