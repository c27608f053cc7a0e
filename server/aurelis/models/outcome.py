"""The values a request turns into on its way through the orchestrator, and the response.

A `PreparedCall` is a request made concrete for one model (resolved, prompt fitted, provider
call ready); an `Answer` is what that model said (with the failed links before it); a `Hit`
is an answer from the cache. Both build the caller's `ModelResponse`, so one upstream call
can answer several identical requests, each with its own metadata.
"""

from __future__ import annotations

import time
from typing import Any

from aurelis.models.cache import CacheEntry
from aurelis.models.fallback import Attempt
from aurelis.models.prompts import BuiltPrompt
from aurelis.models.providers.base import Completion, ProviderCall
from aurelis.models.routing import ResolvedModel
from aurelis.models.tokens import count_tokens
from aurelis.models.types import ModelRequest, ModelResponse

__all__ = ["PreparedCall", "Answer", "Hit", "Outcome", "INCOMPLETE", "base_metadata"]

#: Finish reasons of answers that are cut short or withheld: never cached.
INCOMPLETE = frozenset({"length", "cancelled", "content_filter"})


class PreparedCall:
    """A request made concrete for one model: resolved, prompt built, provider call ready."""

    __slots__ = ("resolved", "prompt", "call", "model")

    def __init__(self, resolved: ResolvedModel, prompt: BuiltPrompt, call: ProviderCall) -> None:
        self.resolved, self.prompt, self.call = resolved, prompt, call
        self.model = resolved.model


class Answer:
    """What one model answered, with the links of the chain that failed before it.

    `rate_limit_remaining`/`rate_limit_reset` are what the server said about its limits,
    or else our own limiter's count, at the moment the answer arrived.
    """

    __slots__ = (
        "prepared",
        "completion",
        "attempts",
        "tokens",
        "rate_limit_remaining",
        "rate_limit_reset",
    )

    def __init__(
        self,
        prepared: PreparedCall,
        completion: Completion,
        attempts: list[Attempt],
        *,
        rate_limit_remaining: int | None,
        rate_limit_reset: float | None,
    ) -> None:
        self.prepared, self.completion, self.attempts = prepared, completion, attempts
        self.tokens = completion.total_tokens or (
            prepared.prompt.prompt_tokens + count_tokens(completion.content)
        )
        self.rate_limit_remaining = rate_limit_remaining
        self.rate_limit_reset = rate_limit_reset

    @property
    def cacheable(self) -> bool:
        return bool(self.completion.content.strip()) and (
            self.completion.finish_reason not in INCOMPLETE
        )

    def facts(self) -> dict[str, Any]:
        """The call's facts: the same for everyone who gets this answer (also cached)."""
        completion, prepared = self.completion, self.prepared
        facts: dict[str, Any] = {
            "deployment": prepared.resolved.deployment,
            "endpoint": prepared.resolved.endpoint,
            "prompt_tokens": completion.prompt_tokens or prepared.prompt.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "finish_reason": completion.finish_reason,
        }
        if prepared.prompt.truncated:
            facts["context_truncated"] = prepared.prompt.truncated
        return facts

    def entry(self) -> CacheEntry:
        return CacheEntry(
            content=self.completion.content,
            model_used=self.prepared.model,
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
            model_used=self.prepared.model,
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


def base_metadata(request: ModelRequest) -> dict[str, Any]:
    """The request's own metadata plus its task type: where every response's metadata starts."""
    metadata: dict[str, Any] = dict(request.metadata) if request.metadata else {}
    metadata["task_type"] = request.task_type.value
    return metadata
