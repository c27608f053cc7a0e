"""Task routing and per-request model resolution, with config overrides applied live."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from aurelis.core.config import AurelisConfig
from aurelis.models.catalog import CATALOG, ModelInfo
from aurelis.models.server_limits import learned_limit
from aurelis.models.types import ModelRequest, ModelType, TaskType

__all__ = [
    "EMBEDDED_MODEL_TOKEN_RATIO",
    "DEFAULT_ROUTES",
    "ResolvedModel",
    "route",
    "resolve",
    "deployment_for",
    "input_budget",
]

#: gemma-3 tokens per cl100k token, measured on a 34 KB Python file (18,821 / 12,457 = 1.51)
#: and rounded up: the embedded model's prompts are fitted with this ratio.
EMBEDDED_MODEL_TOKEN_RATIO = 1.55

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
    #: The model's tokens per token of ours (cl100k): what a prompt's count is multiplied
    #: by before it is compared with the window. 1.0 where ours is the model's tokenizer.
    token_ratio: float = 1.0


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
    deployment = deployment_for(model, config)
    if model is ModelType.LOCAL:
        window = config.context_windows.get(model, config.local_context_size)
        endpoint = "local"
        ratio = config.token_count_margin if config.local_model_path else EMBEDDED_MODEL_TOKEN_RATIO
    else:
        window = config.context_windows.get(model, info.context_window)
        endpoint = config.endpoint
        ratio = config.token_count_margin
        learned = learned_limit(endpoint, deployment)
        if learned is not None:
            # What the server itself said beats our guess (server_limits).
            window = min(window, learned.context_window or window)
            ratio = learned.token_ratio or ratio
    return ResolvedModel(
        model=model,
        info=info,
        deployment=deployment,
        endpoint=endpoint,
        context_window=window,
        max_output_tokens=min(info.max_output_tokens, window // 2),
        token_ratio=ratio,
    )


def input_budget(resolved: ResolvedModel, max_tokens: int | None) -> tuple[int, int]:
    """(prompt token budget, output tokens): the context window minus the output reserve,
    in our tokens (cl100k), so divided by the model's token ratio."""
    output = min(max_tokens or resolved.max_output_tokens, resolved.max_output_tokens)
    return max(int((resolved.context_window - output) / resolved.token_ratio), 0), output
