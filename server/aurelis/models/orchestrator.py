"""The model orchestrator: one request in, one answer out.

process_request: route the task to a model, assemble and fit the prompt, call the
provider, and describe what happened in the response metadata and one log line.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aurelis.core.config import AurelisConfig, get_config
from aurelis.core.log import log_event
from aurelis.models.prompts import BuiltPrompt, build_messages
from aurelis.models.providers.base import Completion, ProviderCall
from aurelis.models.providers.registry import ProviderRegistry
from aurelis.models.routing import ResolvedModel, input_budget, primary_model, resolve
from aurelis.models.tokens import count_tokens
from aurelis.models.types import ModelRequest, ModelResponse, ModelType

__all__ = ["ModelOrchestrator", "get_model_orchestrator", "reset_model_orchestrator"]

logger = logging.getLogger("aurelis.models")


class ModelOrchestrator:
    """Routes requests to models. Reads `get_config()` on every request, so changes apply live."""

    def __init__(self, config: AurelisConfig | None = None) -> None:
        self._config = config
        self.providers = ProviderRegistry()

    @property
    def config(self) -> AurelisConfig:
        return self._config if self._config is not None else get_config()

    async def process_request(self, request: ModelRequest) -> ModelResponse:
        """Answer one request (see docs/orchestrator-api.md)."""
        started = time.perf_counter()
        config = self.config
        model = primary_model(request, config)
        try:
            plan = self._plan(request, model, config)
            completion = await self.providers.provider_for(model, config).complete(plan.call)
        except BaseException as error:
            _log_failure(request, model, started, error)
            raise
        response = _response(request, plan, completion, started)
        _log_success(request, response)
        return response

    async def stream_request(self, request: ModelRequest) -> AsyncIterator[str]:
        """Yield the answer as text chunks as the model produces them."""
        config = self.config
        model = primary_model(request, config)
        plan = self._plan(request, model, config)
        async for chunk in self.providers.provider_for(model, config).stream(plan.call):
            if chunk.text:
                yield chunk.text

    async def process_batch(self, requests: Sequence[ModelRequest]) -> list[ModelResponse]:
        """Answer several requests concurrently; results keep the input order."""
        return list(await asyncio.gather(*(self.process_request(r) for r in requests)))

    def _plan(self, request: ModelRequest, model: ModelType, config: AurelisConfig) -> _Plan:
        resolved = resolve(model, config)
        budget, output_tokens = input_budget(resolved, request.max_tokens)
        prompt = build_messages(request, budget)
        call = ProviderCall(
            model=model.value,
            deployment=resolved.deployment,
            messages=prompt.messages,
            temperature=request.temperature,
            max_tokens=output_tokens,
            timeout=config.request_timeout,
            request=request,
            prompt_budget=budget,
        )
        return _Plan(resolved, prompt, call)

    async def close(self) -> None:
        """Release HTTP clients and the local model."""
        await self.providers.close()


class _Plan:
    """A request made concrete for one model."""

    __slots__ = ("resolved", "prompt", "call")

    def __init__(self, resolved: ResolvedModel, prompt: BuiltPrompt, call: ProviderCall) -> None:
        self.resolved, self.prompt, self.call = resolved, prompt, call


def _response(
    request: ModelRequest, plan: _Plan, completion: Completion, started: float
) -> ModelResponse:
    tokens = completion.total_tokens or (
        plan.prompt.prompt_tokens + count_tokens(completion.content)
    )
    return ModelResponse(
        content=completion.content,
        model_used=plan.resolved.model,
        tokens_used=tokens,
        processing_time=time.perf_counter() - started,
        cached=False,
        metadata=_metadata(request, plan, completion),
    )


def _metadata(request: ModelRequest, plan: _Plan, completion: Completion) -> dict[str, Any]:
    metadata: dict[str, Any] = dict(request.metadata or {})
    metadata.update(
        task_type=request.task_type.value,
        deployment=plan.resolved.deployment,
        endpoint=plan.resolved.endpoint,
        prompt_tokens=completion.prompt_tokens or plan.prompt.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        finish_reason=completion.finish_reason,
    )
    if plan.prompt.truncated:
        metadata["context_truncated"] = plan.prompt.truncated
    limits = completion.rate_limit
    if limits.remaining_requests is not None:
        metadata["rate_limit_remaining"] = limits.remaining_requests
    if limits.reset_seconds is not None:
        metadata["rate_limit_reset"] = limits.reset_seconds
    return metadata


def _log_success(request: ModelRequest, response: ModelResponse) -> None:
    log_event(
        logger,
        "model_request",
        model=response.model_used.value,
        task=request.task_type.value,
        tokens=response.tokens_used,
        ms=round(response.processing_time * 1000, 2),
        cached=response.cached,
        metadata=request.metadata or {},
    )


def _log_failure(request: ModelRequest, model: ModelType, started: float, error: BaseException) -> None:
    log_event(
        logger,
        "model_request_failed",
        logging.WARNING,
        model=model.value,
        task=request.task_type.value,
        ms=round((time.perf_counter() - started) * 1000, 2),
        error=type(error).__name__,
        reason=str(error),
        metadata=request.metadata or {},
    )


_orchestrator: ModelOrchestrator | None = None
_orchestrator_lock = threading.Lock()


def get_model_orchestrator() -> ModelOrchestrator:
    """The process-wide orchestrator (created on first use)."""
    global _orchestrator
    if _orchestrator is None:
        with _orchestrator_lock:
            if _orchestrator is None:
                _orchestrator = ModelOrchestrator()
    return _orchestrator


def reset_model_orchestrator() -> None:
    """Forget the process-wide orchestrator (tests; the caller closes the old one)."""
    global _orchestrator
    with _orchestrator_lock:
        _orchestrator = None
