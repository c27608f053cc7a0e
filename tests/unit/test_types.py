"""ModelRequest / ModelResponse / enums: the public value types behave as documented."""

from __future__ import annotations

import pytest

from aurelis.models import ModelRequest, ModelResponse, ModelType, TaskType


def test_request_defaults_match_the_documented_api() -> None:
    request = ModelRequest(prompt="Generate function A")
    assert request.model_type is None
    assert request.task_type is TaskType.GENERAL
    assert request.system_prompt is None
    assert request.temperature == 0.1
    assert request.max_tokens is None
    assert request.context is None and request.metadata is None


def test_model_type_values_are_short_cli_names() -> None:
    assert ModelType("gpt-4o-mini") is ModelType.GPT_4O_MINI
    assert ModelType("codestral-2501") is ModelType.CODESTRAL_2501
    assert ModelType.LOCAL.value == "local"
    assert len(ModelType) == 10


def test_unknown_model_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError) as raised:
        ModelType("gpt-5")
    assert "gpt-5" in str(raised.value)
    assert "gpt-4o-mini" in str(raised.value) and "codestral-2501" in str(raised.value)


def test_task_type_values() -> None:
    assert {task.value for task in TaskType} == {
        "code_generation",
        "code_completion",
        "code_optimization",
        "documentation",
        "explanation",
        "refactoring",
        "testing",
        "analysis",
        "general",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   \n"}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"prompt": "x", "temperature": -0.1}, "temperature"),
        ({"prompt": "x", "temperature": 2.5}, "temperature"),
        ({"prompt": "x", "temperature": "hot"}, "temperature"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "max_tokens": 1.5}, "max_tokens"),
        ({"prompt": "x", "model_type": "gpt-5"}, "model_type"),
        ({"prompt": "x", "model_type": 3}, "model_type"),
        ({"prompt": "x", "task_type": "poetry"}, "task_type"),
        ({"prompt": "x", "context": "not a dict"}, "context"),
        ({"prompt": "x", "metadata": ["user"]}, "metadata"),
        ({"prompt": "x", "system_prompt": 7}, "system_prompt"),
    ],
)
def test_invalid_request_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError) as raised:
        ModelRequest(**kwargs)
    assert field in str(raised.value)


def test_string_enum_values_are_coerced() -> None:
    request = ModelRequest(prompt="x", model_type="gpt-4o", task_type="testing")
    assert request.model_type is ModelType.GPT_4O
    assert request.task_type is TaskType.TESTING


def test_response_fields() -> None:
    response = ModelResponse("code", ModelType.LOCAL, 12, 0.5)
    assert (response.cached, response.metadata) == (False, None)
