"""Errors as the client sees them: JSON-RPC error codes and one clear, redacted message."""

from __future__ import annotations

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcRequestCancelled

from aurelis.core.exceptions import AurelisError, AuthenticationError, RateLimitError
from aurelis.core.secrets import redact

__all__ = [
    "REQUEST_FAILED",
    "InvalidArguments",
    "RequestFailed",
    "RequestCancelled",
    "user_message",
]

#: LSP's RequestFailed: the request was valid but the server could not complete it.
REQUEST_FAILED = -32803


class InvalidArguments(JsonRpcInvalidParams):
    """Bad input from the client (-32602); the message says what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(message=redact(message))


class RequestFailed(JsonRpcException):
    """A valid request that could not be completed, e.g. the model call failed (-32803)."""

    CODE = REQUEST_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message=redact(message), code=REQUEST_FAILED)


class RequestCancelled(JsonRpcRequestCancelled):
    """The user cancelled the work (-32800), e.g. from the progress notification."""

    def __init__(self, message: str = "cancelled by the user") -> None:
        super().__init__(message=message)


def user_message(error: BaseException) -> str:
    """One sentence for the user: what happened and what to do, secrets masked.

    Orchestrator errors already carry a hint (which variable to set, how to configure
    another endpoint); other exceptions are bugs, so only their type is shown and the
    details go to the log.
    """
    if isinstance(error, AuthenticationError):
        text = str(error)
    elif isinstance(error, RateLimitError):
        wait = f" retry in {error.retry_after:g}s" if error.retry_after else " retry shortly"
        text = f"{error.message};{wait}"
    elif isinstance(error, AurelisError):
        text = str(error)
    elif isinstance(error, JsonRpcException):
        text = error.message
    else:
        text = f"internal error ({type(error).__name__}); see the Aurelis server log"
    return redact(" ".join(text.split()))
