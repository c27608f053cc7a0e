"""Fallback chains: which models to try, in order, when one fails; and what to say when all do.

Default: a remote model falls back to GPT-4o-mini, GPT-4o-mini to Mistral-Nemo, and each
chain ends with the embedded LOCAL model unless `local_fallback` is off. A configured chain
(`fallback_chains = {model: [...]}`) replaces the default links after that model (LOCAL is
still appended unless disabled). Offline (no remote endpoint), the chain is just LOCAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from aurelis.core.config import AurelisConfig

# The chain's errors live with the others in core; imported here for their old path too.
from aurelis.core.exceptions import (
    AllModelsFailedError,
    AllModelsRateLimitedError,
    AurelisError,
    RateLimitError,
)
from aurelis.core.secrets import redact
from aurelis.models.types import ModelType

__all__ = [
    "DEFAULT_NEXT",
    "Attempt",
    "Trail",
    "AllModelsFailedError",
    "AllModelsRateLimitedError",
    "fallback_chain",
    "chain_failure",
]

#: The default next link of each remote model (followed transitively).
DEFAULT_NEXT = MappingProxyType(
    {
        **{
            model: ModelType.GPT_4O_MINI
            for model in ModelType
            if model not in (ModelType.GPT_4O_MINI, ModelType.MISTRAL_NEMO, ModelType.LOCAL)
        },
        ModelType.GPT_4O_MINI: ModelType.MISTRAL_NEMO,
    }
)


def fallback_chain(primary: ModelType, config: AurelisConfig) -> list[ModelType]:
    """The models to try for a request whose primary model is `primary`, in order."""
    if not config.remote_enabled:
        return [ModelType.LOCAL]
    configured = config.fallback_chains.get(primary)
    chain = [primary, *configured] if configured is not None else _default_chain(primary)
    if config.local_fallback:
        chain.append(ModelType.LOCAL)
    elif primary is not ModelType.LOCAL:
        chain = [model for model in chain if model is not ModelType.LOCAL]
    return list(dict.fromkeys(chain))  # first occurrence wins; no model is tried twice


def _default_chain(primary: ModelType) -> list[ModelType]:
    chain = [primary]
    model = DEFAULT_NEXT.get(primary)
    while model is not None and model not in chain:
        chain.append(model)
        model = DEFAULT_NEXT.get(model)
    return chain


@dataclass(frozen=True)
class Attempt:
    """One link of the chain that did not answer, and why."""

    model: ModelType
    error: BaseException

    @property
    def reason(self) -> str:
        return redact(f"{type(self.error).__name__}: {self.error}")

    def as_metadata(self) -> dict[str, Any]:
        return {"model": self.model.value, "error": self.reason}


class Trail:
    """How far a request got along its chain: the links that failed, the one in progress."""

    def __init__(self, current: ModelType | None = None, attempts: list[Attempt] | None = None):
        self.current = current
        self.attempts: list[Attempt] = attempts if attempts is not None else []
        self.retrying: BaseException | None = None  # the current link's last failure

    def start(self, model: ModelType) -> None:
        self.current, self.retrying = model, None

    def failed(self, model: ModelType, error: BaseException) -> None:
        self.attempts.append(Attempt(model, error))
        self.current, self.retrying = None, None

    def describe(self) -> str:
        parts = [f"{a.model.value} failed ({a.reason})" for a in self.attempts]
        if self.current is not None:
            doing = f"still waiting for {self.current.value}"
            if self.retrying is not None:
                doing += f" after {Attempt(self.current, self.retrying).reason}"
            parts.append(doing)
        return "; ".join(parts) or "no model was tried"


def chain_failure(attempts: list[Attempt]) -> AurelisError:
    """The error for a chain that ran out: a RateLimitError when only limits stood in the way."""
    if attempts and all(isinstance(a.error, RateLimitError) for a in attempts):
        return AllModelsRateLimitedError(attempts)
    return AllModelsFailedError(attempts)
