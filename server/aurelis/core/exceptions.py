"""One exception hierarchy for everything a user can meet.

Every message says what happened and what to do. Messages never contain secrets:
callers pass the *name* of the variable a token came from, never its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = [
    "AurelisError",
    "ConfigurationError",
    "AuthenticationError",
    "RateLimitError",
    "ModelError",
    "ModelUnavailableError",
    "ModelProcessDownError",
    "ModelTimeoutError",
    "ModelResponseError",
    "TransientModelError",
    "PromptTooLongError",
    "AllModelsFailedError",
    "AllModelsRateLimitedError",
    "FailedAttempt",
    "is_transient",
]


class AurelisError(Exception):
    """Base of every error Aurelis raises on purpose.

    `model` and `status_code` say which model call failed and how, where that applies.
    """

    #: Whether a retry or a fallback to another model may help.
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.model = model
        self.status_code = status_code

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class ConfigurationError(AurelisError):
    """A setting has a bad value; names the key, the value and the expected form."""

    def __init__(self, message: str, *, key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class ModelError(AurelisError):
    """A model call failed. `transient` errors may be retried or fallen back from."""


class AuthenticationError(AurelisError):
    """The endpoint refused the credential (401/403). Never retried, never fallen back."""


class RateLimitError(AurelisError):
    """The model's rate limit is reached; `retry_after` is seconds to wait, when known."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        model: str | None = None,
        status_code: int | None = 429,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, model=model, status_code=status_code, hint=hint)
        self.retry_after = retry_after


class TransientModelError(ModelError):
    """5xx, dropped connections and the like: worth a retry or a fallback."""

    transient = True


class ModelUnavailableError(ModelError):
    """The model or endpoint does not exist (404/410) or cannot be loaded."""

    transient = True


class ModelProcessDownError(ModelUnavailableError):
    """The embedded model's process crashed, or is restarting after a crash: the next model
    of the chain answers. A retry on the same model would wait out the restart."""


class ModelTimeoutError(ModelError):
    """The model did not answer within the configured timeout."""

    transient = True


class ModelResponseError(ModelError):
    """The model answered with something that is not a valid completion."""

    transient = True


class PromptTooLongError(ModelError):
    """The prompt alone does not fit the model's input budget; it is never cut silently.

    Not transient for this model, but a model with a larger window may take it.
    """


def is_transient(error: BaseException) -> bool:
    """True when retrying or falling back to another model may succeed."""
    return isinstance(error, AurelisError) and error.transient


class FailedAttempt(Protocol):
    """One link of a fallback chain that did not answer (`aurelis.models.fallback.Attempt`)."""

    @property
    def model(self) -> object: ...  # a ModelType; str() gives its value

    @property
    def error(self) -> BaseException: ...

    @property
    def reason(self) -> str: ...  # the error, redacted


def _list_attempts(attempts: Sequence[FailedAttempt]) -> str:
    return "; ".join(f"{attempt.model}: {attempt.reason}" for attempt in attempts)


def _shared_hint(attempts: Sequence[FailedAttempt]) -> str | None:
    """The hint every failed model gave, when they agree (one local model that crashed
    says what to do better than a generic word about endpoints)."""
    hints = {getattr(attempt.error, "hint", None) for attempt in attempts}
    hint = hints.pop() if len(hints) == 1 else None
    return hint if isinstance(hint, str) and hint else None


def _first_model(attempts: Sequence[FailedAttempt]) -> str | None:
    return str(attempts[0].model) if attempts else None


class AllModelsFailedError(ModelError):
    """Every model of the fallback chain failed; `attempts` says which and why."""

    def __init__(
        self, attempts: Sequence[FailedAttempt], *, prefix: str = "no model could answer"
    ) -> None:
        super().__init__(
            f"{prefix}: {_list_attempts(attempts)}",
            model=_first_model(attempts),
            hint=_shared_hint(attempts)
            or "check the endpoint and the models' health (`aurelis models`), or retry later",
        )
        self.attempts = list(attempts)
        self.transient = any(is_transient(attempt.error) for attempt in attempts)


class AllModelsRateLimitedError(RateLimitError):
    """Every model of the chain was held back by a rate limit (ours or the server's)."""

    def __init__(self, attempts: Sequence[FailedAttempt]) -> None:
        waits = [
            attempt.error.retry_after
            for attempt in attempts
            if isinstance(attempt.error, RateLimitError) and attempt.error.retry_after is not None
        ]
        wait = min(waits) if waits else None
        super().__init__(
            f"every model is rate limited: {_list_attempts(attempts)}",
            retry_after=wait,
            model=_first_model(attempts),
            hint=f"retry in {wait:.0f}s" if wait is not None else "retry later",
        )
        self.attempts = list(attempts)
