"""One exception hierarchy for everything a user can meet.

Every message says what happened and what to do. Messages never contain secrets:
callers pass the *name* of the variable a token came from, never its value.
"""

from __future__ import annotations

__all__ = [
    "AurelisError",
    "ConfigurationError",
    "AuthenticationError",
    "RateLimitError",
    "ModelError",
    "ModelUnavailableError",
    "ModelTimeoutError",
    "ModelResponseError",
    "TransientModelError",
    "PromptTooLongError",
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
