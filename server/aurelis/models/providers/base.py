"""What the orchestrator needs from a provider, and the values that cross that line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from aurelis.models.types import ModelRequest

__all__ = ["ProviderCall", "FimPrompt", "Completion", "StreamChunk", "RateLimitInfo", "Provider"]


@dataclass(frozen=True)
class RateLimitInfo:
    """What the server said about its limits (headers); None where it said nothing."""

    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_seconds: float | None = None
    retry_after: float | None = None
    limit_type: str | None = None


@dataclass(frozen=True)
class FimPrompt:
    """Fill-in-the-middle: the text before and after the cursor, and related code from
    elsewhere in the repository: `related` as path-commented code to put ahead of the
    prefix, `extra` the same as (path, text) pairs for servers that place them themselves
    (llama.cpp's `/infill` `input_extra`)."""

    prefix: str
    suffix: str
    related: str = ""
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProviderCall:
    """One call to one model: everything already resolved and fitted.

    A chat call carries `messages`; a fill-in-the-middle call also carries `fim` (its
    `kind` is then "fim"), which a provider that cannot do FIM must refuse, not ignore.
    """

    model: str  # ModelType value, for error messages
    deployment: str
    messages: list[dict[str, str]]
    temperature: float
    max_tokens: int
    timeout: float
    request: ModelRequest  # local base models build their own completion-style prompt
    prompt_budget: int
    fim: FimPrompt | None = None

    @property
    def kind(self) -> Literal["chat", "fim"]:
        return "chat" if self.fim is None else "fim"


@dataclass
class Completion:
    content: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None
    model_reported: str | None = None
    rate_limit: RateLimitInfo = field(default_factory=RateLimitInfo)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class StreamChunk:
    """A piece of streamed text; the last one carries usage and the finish reason."""

    text: str
    final: Completion | None = None


class Provider(Protocol):
    """A model backend. The orchestrator owns retries, limits and fallback; a provider makes
    one call and translates its failures into `aurelis.core.exceptions` errors."""

    name: str

    async def complete(self, call: ProviderCall) -> Completion: ...

    def stream(self, call: ProviderCall) -> AsyncIterator[StreamChunk]: ...

    async def close(self) -> None: ...
