"""The public value types of the orchestrator: what a caller sends and gets back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The enums live in core (config validates names with them); this is their public home.
from aurelis.core.names import ModelType, TaskType
from aurelis.core.names import NamedEnum as _NamedEnum

__all__ = ["ModelType", "TaskType", "ModelRequest", "ModelResponse"]


@dataclass
class ModelRequest:
    """One request to the orchestrator. Validated on construction."""

    prompt: str
    model_type: ModelType | None = None
    task_type: TaskType = TaskType.GENERAL
    system_prompt: str | None = None
    temperature: float = 0.1
    max_tokens: int | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        _check_prompt(self.prompt)
        self.model_type = _coerce_optional_enum("model_type", self.model_type, ModelType)
        self.task_type = _coerce_enum("task_type", self.task_type, TaskType)
        _check_optional_str("system_prompt", self.system_prompt)
        self.temperature = _check_temperature(self.temperature)
        _check_max_tokens(self.max_tokens)
        _check_optional_dict("context", self.context)
        _check_optional_dict("metadata", self.metadata)


@dataclass
class ModelResponse:
    """The orchestrator's answer. `processing_time` is in seconds."""

    content: str
    model_used: ModelType
    tokens_used: int
    processing_time: float
    cached: bool = False
    metadata: dict[str, Any] | None = None


def _check_prompt(prompt: object) -> None:
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a str, got {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError("prompt must not be empty")


def _coerce_enum(field: str, value: object, enum: type[_NamedEnum]) -> Any:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError as error:
            raise ValueError(f"{field}: {error}") from None
    raise ValueError(f"{field} must be a {enum.__name__}, got {type(value).__name__}")


def _coerce_optional_enum(field: str, value: object, enum: type[_NamedEnum]) -> Any:
    return None if value is None else _coerce_enum(field, value, enum)


def _check_optional_str(field: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{field} must be a str or None, got {type(value).__name__}")


def _check_temperature(value: object) -> float:
    # bool is an int subclass; True is not a temperature.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"temperature must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 2.0:
        raise ValueError(f"temperature must be between 0 and 2, got {value}")
    return float(value)


def _check_max_tokens(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"max_tokens must be an int or None, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"max_tokens must be > 0, got {value}")


def _check_optional_dict(field: str, value: object) -> None:
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"{field} must be a dict or None, got {type(value).__name__}")
