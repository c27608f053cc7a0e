"""The model orchestrator, usable as a library.

from aurelis.models import get_model_orchestrator, ModelRequest, ModelType, TaskType
response = await get_model_orchestrator().process_request(ModelRequest(prompt="..."))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aurelis.models.types import ModelRequest, ModelResponse, ModelType, TaskType

if TYPE_CHECKING:
    from aurelis.models.orchestrator import ModelOrchestrator, get_model_orchestrator

__all__ = [
    "get_model_orchestrator",
    "ModelOrchestrator",
    "ModelRequest",
    "ModelResponse",
    "ModelType",
    "TaskType",
]


def __getattr__(name: str) -> Any:
    # The orchestrator imports the config, which imports the value types from this
    # package; loading it lazily keeps that from being an import cycle.
    if name in ("get_model_orchestrator", "ModelOrchestrator"):
        from aurelis.models import orchestrator

        return getattr(orchestrator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
