"""Task routing and per-request model resolution, with config overrides applied live."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from aurelis.core.config import AurelisConfig
from aurelis.models.catalog import CATALOG, ModelInfo
from aurelis.models.types import ModelRequest, ModelType, TaskType

__all__ = ["DEFAULT_ROUTES", "ResolvedModel", "route", "resolve", "deployment_for", "input_budget"]

DEFAULT_ROUTES = MappingProxyType(
    {
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
)


@dataclass(frozen=True)
class ResolvedModel:
    """A model with the config in force applied: where the request will really go."""

    model: ModelType
    info: ModelInfo
    deployment: str
    endpoint: str
    context_window: int
    max_output_tokens: int


def route(task: TaskType, config: AurelisConfig) -> ModelType:
    """The model a task goes to: config routing first, then the defaults."""
    return config.routing.get(task, DEFAULT_ROUTES[task])


def primary_model(request: ModelRequest, config: AurelisConfig) -> ModelType:
    """An explicit model wins; otherwise the task's route; offline everything goes local."""
    if not config.remote_enabled:
        return ModelType.LOCAL
    if request.model_type is not None:
        return request.model_type
    return route(request.task_type, config)


def deployment_for(model: ModelType, config: AurelisConfig) -> str:
    return config.deployments.get(model, CATALOG[model].deployment)


def resolve(model: ModelType, config: AurelisConfig) -> ResolvedModel:
    info = CATALOG[model]
    if model is ModelType.LOCAL:
        window = config.context_windows.get(model, config.local_context_size)
        endpoint = "local"
    else:
        window = config.context_windows.get(model, info.context_window)
        endpoint = config.endpoint
    return ResolvedModel(
        model=model,
        info=info,
        deployment=deployment_for(model, config),
        endpoint=endpoint,
        context_window=window,
        max_output_tokens=min(info.max_output_tokens, window // 2),
    )


def input_budget(resolved: ResolvedModel, max_tokens: int | None) -> tuple[int, int]:
    """(prompt token budget, output tokens) = context window minus the output reserve."""
    output = min(max_tokens or resolved.max_output_tokens, resolved.max_output_tokens)
    return max(resolved.context_window - output, 0), output
