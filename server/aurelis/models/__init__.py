"""The model orchestrator, usable as a library.

    from aurelis.models import get_model_orchestrator, ModelRequest, ModelType, TaskType
    response = await get_model_orchestrator().process_request(ModelRequest(prompt="..."))
"""

from aurelis.models.orchestrator import ModelOrchestrator, get_model_orchestrator
from aurelis.models.types import ModelRequest, ModelResponse, ModelType, TaskType

__all__ = [
    "get_model_orchestrator",
    "ModelOrchestrator",
    "ModelRequest",
    "ModelResponse",
    "ModelType",
    "TaskType",
]
