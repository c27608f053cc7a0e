"""Task routing and per-request model resolution, with config overrides applied live."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from aurelis.core.config import AurelisConfig
from aurelis.models.catalog import CATALOG, ModelInfo
from aurelis.models.server_limits import learned_limit
from aurelis.models.types import ModelRequest, ModelType, TaskType

__all__ = [
    "EMBEDDED_MODEL_TOKEN_RATIO",
    "DEFAULT_ROUTES",
    "DEFAULT_TASK_OUTPUT_TOKENS",
    "effective_route",
    "output_cap",
    "ResolvedModel",
    "route",
    "resolve",
    "deployment_for",
    "input_budget",
]

#: gemma-3 tokens per cl100k token, measured on a 34 KB Python file (18,821 / 12,457 = 1.51)
#: and rounded up: the embedded model's prompts are fitted with this ratio.
EMBEDDED_MODEL_TOKEN_RATIO = 1.55

#: Output tokens a request of each task may ask for unless it says otherwise (setting
#: `task_output_tokens`): enough for the answer the task expects, little enough that a CPU
#: server finishes inside the request timeout (~30-45 tokens/s: 1024 tokens is ~30 s).
DEFAULT_TASK_OUTPUT_TOKENS = MappingProxyType(
    {
        TaskType.CODE_COMPLETION: 256,
        TaskType.CODE_GENERATION: 1024,
        TaskType.CODE_OPTIMIZATION: 1024,
        TaskType.REFACTORING: 1024,
        TaskType.TESTING: 1024,
        TaskType.DOCUMENTATION: 512,
        TaskType.EXPLANATION: 512,
        TaskType.ANALYSIS: 768,
        TaskType.GENERAL: 512,
    }
)

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
    #: Per task: output tokens when the request names none (config over the defaults).
    task_output_tokens: Mapping[TaskType, int] = field(
        default_factory=lambda: DEFAULT_TASK_OUTPUT_TOKENS
    )


def route(task: TaskType, config: AurelisConfig) -> ModelType:
    """The model a task goes to: config routing first, then the defaults."""
    return config.routing.get(task, DEFAULT_ROUTES[task])


def effective_route(task: TaskType, config: AurelisConfig) -> ModelType:
    """Where a request of `task` that names no model goes now (offline: the local model)."""
    return route(task, config) if config.remote_enabled else ModelType.LOCAL


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
    model_limit = config.model_output_tokens.get(model, info.max_output_tokens)
    return ResolvedModel(
        model=model,
        info=info,
        deployment=deployment,
        endpoint=endpoint,
        context_window=window,
        max_output_tokens=max(1, min(model_limit, window // 2)),
        token_ratio=ratio,
        task_output_tokens=(
            {**DEFAULT_TASK_OUTPUT_TOKENS, **config.task_output_tokens}
            if config.task_output_tokens
            else DEFAULT_TASK_OUTPUT_TOKENS
        ),
    )


def output_cap(resolved: ResolvedModel, max_tokens: int | None, task: TaskType) -> int:
    """Output tokens of a request: what it asked for, else its task's cap; never more than
    the model's output limit (`model_output_tokens`, at most half its window)."""
    wanted = max_tokens or resolved.task_output_tokens.get(task, resolved.max_output_tokens)
    return min(wanted, resolved.max_output_tokens)


def input_budget(
    resolved: ResolvedModel, max_tokens: int | None, task: TaskType = TaskType.GENERAL
) -> tuple[int, int]:
    """(prompt token budget, output tokens): the context window minus the output reserve,
    in our tokens (cl100k), so divided by the model's token ratio."""
    output = output_cap(resolved, max_tokens, task)
    return max(int((resolved.context_window - output) / resolved.token_ratio), 0), output
