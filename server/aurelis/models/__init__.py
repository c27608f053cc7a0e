"""The model orchestrator, usable as a library: everything a caller needs, from one place.

from aurelis.models import get_model_orchestrator, ModelRequest, ModelType, TaskType
response = await get_model_orchestrator().process_request(ModelRequest(prompt="..."))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aurelis.core.exceptions import (
    AllModelsFailedError,
    AllModelsRateLimitedError,
    AurelisError,
    AuthenticationError,
    ConfigurationError,
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
    PromptTooLongError,
    RateLimitError,
    TransientModelError,
    is_transient,
)
from aurelis.models.types import ModelRequest, ModelResponse, ModelType, TaskType

if TYPE_CHECKING:
    from aurelis.core.config import AurelisConfig, get_config
    from aurelis.models.batch import BatchProgress
    from aurelis.models.orchestrator import (
        ModelOrchestrator,
        get_model_orchestrator,
        reset_model_orchestrator,
    )

__all__ = [
    # the orchestrator
    "ModelOrchestrator",
    "get_model_orchestrator",
    "reset_model_orchestrator",
    "BatchProgress",
    # values
    "ModelRequest",
    "ModelResponse",
    "ModelType",
    "TaskType",
    # configuration
    "AurelisConfig",
    "get_config",
    # errors
    "AurelisError",
    "ConfigurationError",
    "AuthenticationError",
    "RateLimitError",
    "AllModelsRateLimitedError",
    "ModelError",
    "AllModelsFailedError",
    "ModelUnavailableError",
    "ModelTimeoutError",
    "ModelResponseError",
    "TransientModelError",
    "PromptTooLongError",
    "is_transient",
]

# Loaded on first use: the orchestrator pulls in the HTTP client stack and the tokenizer,
# and the config imports names from this package (an import cycle if loaded eagerly).
_LAZY = {
    "ModelOrchestrator": "aurelis.models.orchestrator",
    "get_model_orchestrator": "aurelis.models.orchestrator",
    "reset_model_orchestrator": "aurelis.models.orchestrator",
    "BatchProgress": "aurelis.models.batch",
    "AurelisConfig": "aurelis.core.config",
    "get_config": "aurelis.core.config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
