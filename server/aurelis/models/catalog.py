"""What Aurelis knows about each model: provider, strengths, limits and deployment name."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from aurelis.models.types import ModelType

__all__ = ["ModelInfo", "RateTier", "CATALOG", "RATE_TIERS", "model_info"]

Provider = Literal["azure", "local"]


@dataclass(frozen=True)
class RateTier:
    """Client-side limits per model and user (the GitHub Models free tier)."""

    name: str
    requests_per_minute: int | None
    requests_per_day: int | None
    concurrent: int | None


RATE_TIERS = MappingProxyType(
    {
        "low": RateTier("low", 15, 150, 5),
        "high": RateTier("high", 10, 50, 2),
        # The embedded model runs one generation at a time on the CPU.
        "local": RateTier("local", None, None, 1),
    }
)


@dataclass(frozen=True)
class ModelInfo:
    model: ModelType
    provider: Provider
    deployment: str
    best_for: str
    context_window: int
    max_output_tokens: int
    rate_tier: str

    @property
    def tier(self) -> RateTier:
        return RATE_TIERS[self.rate_tier]


def _info(
    model: ModelType,
    deployment: str,
    best_for: str,
    context_window: int,
    max_output_tokens: int,
    rate_tier: str,
    provider: Provider = "azure",
) -> ModelInfo:
    return ModelInfo(
        model, provider, deployment, best_for, context_window, max_output_tokens, rate_tier
    )


CATALOG: MappingProxyType[ModelType, ModelInfo] = MappingProxyType(
    {
        info.model: info
        for info in (
            _info(
                ModelType.CODESTRAL_2501,
                "mistral-ai/Codestral-2501",
                "code generation, completion, refactoring, tests",
                256_000,
                4_096,
                "low",
            ),
            _info(
                ModelType.GPT_4O,
                "openai/gpt-4o",
                "analysis and complex reasoning",
                128_000,
                4_096,
                "high",
            ),
            _info(
                ModelType.GPT_4O_MINI,
                "openai/gpt-4o-mini",
                "fast general answers",
                128_000,
                4_096,
                "low",
            ),
            _info(
                ModelType.COHERE_COMMAND_R,
                "cohere/cohere-command-r-08-2024",
                "documentation and explanations",
                128_000,
                4_096,
                "low",
            ),
            _info(
                ModelType.COHERE_COMMAND_R_PLUS,
                "cohere/cohere-command-r-plus-08-2024",
                "long-form documentation",
                128_000,
                4_096,
                "high",
            ),
            _info(
                ModelType.META_LLAMA_70B,
                "meta/Meta-Llama-3.1-70B-Instruct",
                "general code reasoning",
                128_000,
                4_096,
                "low",
            ),
            _info(
                ModelType.META_LLAMA_405B,
                "meta/Meta-Llama-3.1-405B-Instruct",
                "hard reasoning problems",
                128_000,
                4_096,
                "high",
            ),
            _info(
                ModelType.MISTRAL_LARGE,
                "mistral-ai/Mistral-Large-2411",
                "complex multi-step tasks",
                128_000,
                4_096,
                "high",
            ),
            _info(
                ModelType.MISTRAL_NEMO,
                "mistral-ai/Mistral-Nemo",
                "cheap, fast fallback",
                128_000,
                4_096,
                "low",
            ),
            _info(
                ModelType.LOCAL,
                "gemma-3-270m-q4_k_m.gguf",
                "offline code continuation",
                4_096,
                256,
                "local",
                provider="local",
            ),
        )
    }
)


def model_info(model: ModelType) -> ModelInfo:
    """The static catalog entry of `model` (config overrides are applied by routing)."""
    return CATALOG[model]
