"""The names every layer shares: which model, which task.

A leaf module (standard library only) so `core.config` can validate model and task names
without importing the orchestrator; `aurelis.models` re-exports both enums.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["ModelType", "NamedEnum", "TaskType"]


class NamedEnum(StrEnum):
    """A str enum whose unknown values fail with the list of valid ones."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            # Accept the member name too ("GPT_4O_MINI") and any case ("GPT-4o-mini").
            wanted = value.strip().lower()
            for member in cls:
                if wanted in (member.value, member.name.lower()):
                    return member
        valid = ", ".join(member.value for member in cls)
        raise ValueError(f"{value!r} is not a valid {cls.__name__}; valid names: {valid}")

    def __str__(self) -> str:
        return str(self.value)


class ModelType(NamedEnum):
    """Every model Aurelis can route to. Values are the short names used on the CLI."""

    CODESTRAL_2501 = "codestral-2501"
    GPT_4O = "gpt-4o"
    GPT_4O_MINI = "gpt-4o-mini"
    COHERE_COMMAND_R = "cohere-command-r"
    COHERE_COMMAND_R_PLUS = "cohere-command-r-plus"
    META_LLAMA_70B = "meta-llama-70b"
    META_LLAMA_405B = "meta-llama-405b"
    MISTRAL_LARGE = "mistral-large"
    MISTRAL_NEMO = "mistral-nemo"
    LOCAL = "local"


class TaskType(NamedEnum):
    """What a request asks for; decides the default model and system prompt."""

    CODE_GENERATION = "code_generation"
    CODE_COMPLETION = "code_completion"
    CODE_OPTIMIZATION = "code_optimization"
    DOCUMENTATION = "documentation"
    EXPLANATION = "explanation"
    REFACTORING = "refactoring"
    TESTING = "testing"
    ANALYSIS = "analysis"
    GENERAL = "general"
