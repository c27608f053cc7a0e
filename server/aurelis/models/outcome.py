"""The values a request turns into on its way through the orchestrator, and the response.

A `Plan` is a request made concrete for one model; an `Answer` is what that model said
(with the failed links before it); a `Hit` is an answer from the cache. Both build the
caller's `ModelResponse`, so one upstream call can answer several identical requests, each
with its own metadata.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aurelis.models.breaker import CircuitBreaker
from aurelis.models.cache import CacheEntry
from aurelis.models.fallback import Attempt
from aurelis.models.prompts import BuiltPrompt
from aurelis.models.providers.base import Completion, ProviderCall, StreamChunk
from aurelis.models.ratelimit import Slot
from aurelis.models.routing import ResolvedModel
from aurelis.models.tokens import count_tokens
from aurelis.models.types import ModelRequest, ModelResponse

__all__ = ["Plan", "Deadline", "Answer", "Hit", "Outcome", "OpenStream", "INCOMPLETE"]

#: Finish reasons of answers that are cut short or withheld: never cached.
INCOMPLETE = frozenset({"length", "cancelled", "content_filter"})


class Plan:
    """A request made concrete for one model: resolved, prompt built, call ready."""

    __slots__ = ("resolved", "prompt", "call", "model")

    def __init__(self, resolved: ResolvedModel, prompt: BuiltPrompt, call: ProviderCall) -> None:
        self.resolved, self.prompt, self.call = resolved, prompt, call
        self.model = resolved.model


class Deadline:
    """The end of a request's time budget on the orchestrator's clock."""

    __slots__ = ("end", "_clock")

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.end = clock() + seconds

    def left(self) -> float:
        return self.end - self._clock()


class Answer:
    """What one model answered, with the links of the chain that failed before it."""

    def __init__(self, plan: Plan, completion: Completion, attempts: list[Attempt]) -> None:
        self.plan, self.completion, self.attempts = plan, completion, attempts
        self.tokens = completion.total_tokens or (
            plan.prompt.prompt_tokens + count_tokens(completion.content)
        )
        self.rate_limit_remaining: int | None = None
        self.rate_limit_reset: float | None = None

    @property
    def cacheable(self) -> bool:
        return bool(self.completion.content.strip()) and (
            self.completion.finish_reason not in INCOMPLETE
        )

    def facts(self) -> dict[str, Any]:
        """The call's facts: the same for everyone who gets this answer (also cached)."""
        completion, plan = self.completion, self.plan
        facts: dict[str, Any] = {
            "deployment": plan.resolved.deployment,
            "endpoint": plan.resolved.endpoint,
            "prompt_tokens": completion.prompt_tokens or plan.prompt.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "finish_reason": completion.finish_reason,
        }
        if plan.prompt.truncated:
            facts["context_truncated"] = plan.prompt.truncated
        return facts

    def entry(self) -> CacheEntry:
        return CacheEntry(
            content=self.completion.content,
            model_used=self.plan.model,
            tokens_used=self.tokens,
            metadata=self.facts(),
            stored_at=time.time(),
        )

    def response(self, request: ModelRequest, started: float, shared: bool) -> ModelResponse:
        metadata = base_metadata(request)
        metadata.update(self.facts())
        metadata["fallback_from"] = [attempt.as_metadata() for attempt in self.attempts]
        if self.rate_limit_remaining is not None:
            metadata["rate_limit_remaining"] = self.rate_limit_remaining
        if self.rate_limit_reset is not None:
            metadata["rate_limit_reset"] = round(self.rate_limit_reset, 3)
        if shared:
            metadata["shared"] = True  # answered by an identical request's call
        return ModelResponse(
            content=self.completion.content,
            model_used=self.plan.model,
            tokens_used=self.tokens,
            processing_time=time.perf_counter() - started,
            cached=False,
            metadata=metadata,
        )


class Hit:
    """A cache hit: the original model and token count, this request's own metadata."""

    __slots__ = ("entry",)

    def __init__(self, entry: CacheEntry) -> None:
        self.entry = entry

    def response(self, request: ModelRequest, started: float, shared: bool) -> ModelResponse:
        entry = self.entry
        metadata = base_metadata(request)
        metadata.update(entry.metadata)
        metadata["fallback_from"] = []
        return ModelResponse(
            content=entry.content,
            model_used=entry.model_used,
            tokens_used=entry.tokens_used,
            processing_time=time.perf_counter() - started,
            cached=True,
            metadata=metadata,
        )


Outcome = Answer | Hit


class OpenStream:
    """A stream that delivered its first chunk; it holds its rate-limit slot until closed."""

    __slots__ = ("plan", "chunks", "first", "slot", "breaker", "attempts", "opened_at")

    def __init__(
        self,
        plan: Plan,
        chunks: AsyncIterator[StreamChunk],
        first: StreamChunk | None,
        slot: Slot,
        breaker: CircuitBreaker,
        attempts: list[Attempt],
        opened_at: float,
    ) -> None:
        self.plan, self.chunks, self.first = plan, chunks, first
        self.slot, self.breaker, self.attempts = slot, breaker, attempts
        self.opened_at = opened_at


def base_metadata(request: ModelRequest) -> dict[str, Any]:
    """The request's own metadata plus its task type: where every response's metadata starts."""
    metadata: dict[str, Any] = dict(request.metadata) if request.metadata else {}
    metadata["task_type"] = request.task_type.value
    return metadata
