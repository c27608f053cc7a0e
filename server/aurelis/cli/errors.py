"""Exit codes and the one-line error report every command ends with on failure.

0 success, 1 model or endpoint failure, 2 usage or configuration error, 130 interrupted.
An error is printed as `error: <what happened>` and `hint: <what to do>` on stderr;
the traceback only with `--debug`. Everything printed is redacted.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from aurelis.core.exceptions import (
    AurelisError,
    AuthenticationError,
    ConfigurationError,
    ModelError,
    ModelTimeoutError,
    ModelUnavailableError,
    PromptTooLongError,
    RateLimitError,
)
from aurelis.core.secrets import redact

__all__ = [
    "EXIT_OK",
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "CliUsageError",
    "exit_code_for",
    "describe_error",
    "report_error",
    "print_problem",
    "error_boundary",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CliUsageError(AurelisError):
    """The command line itself is wrong: a missing file, a bad range, a bad model name."""


def exit_code_for(error: BaseException) -> int:
    """The documented exit code for `error`."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, (CliUsageError, ConfigurationError)):
        return EXIT_USAGE
    return EXIT_FAILURE


def describe_error(error: BaseException) -> tuple[str, str | None]:
    """(message, hint) for the user, both redacted."""
    if isinstance(error, KeyboardInterrupt):
        return "cancelled", None
    if isinstance(error, AurelisError):
        message, hint = error.message, error.hint or _default_hint(error)
    else:
        message = f"internal error: {type(error).__name__}: {error}"
        hint = "rerun with --debug for the traceback and report it"
    return _one_line(redact(message)), redact(hint) if hint else None


def _default_hint(error: AurelisError) -> str | None:
    if isinstance(error, ConfigurationError):
        return "run `aurelis config check` to see every setting and where it came from"
    if isinstance(error, AuthenticationError):
        return "set AURELIS_TOKEN to a valid token for the endpoint, or run `aurelis doctor`"
    if isinstance(error, RateLimitError):
        return "wait and retry, or pick another model with --model"
    if isinstance(error, PromptTooLongError):
        return "shorten the prompt or the --lines range"
    if isinstance(error, ModelTimeoutError):
        return "try again, or raise request_timeout"
    if isinstance(error, (ModelUnavailableError, ModelError)):
        return "run `aurelis doctor` to check the endpoint and the local model"
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def print_problem(message: str, hint: str | None = None) -> None:
    """Print `error: ...` (and `hint: ...`) on stderr."""
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    sys.stderr.flush()


def report_error(error: BaseException, *, debug: bool) -> int:
    """Print `error` for the user and return its exit code."""
    if debug and not isinstance(error, KeyboardInterrupt):
        text = "".join(traceback.format_exception(error))
        print(redact(text), file=sys.stderr, end="")
    message, hint = describe_error(error)
    print_problem(message, hint)
    return exit_code_for(error)


@contextmanager
def error_boundary(*, debug: bool) -> Iterator[None]:
    """Turn any failure inside the block into the report and a typer.Exit with its code."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException, SystemExit):
        # Exits and click's usage errors already carry their own code and message.
        raise
    except BaseException as error:  # noqa: BLE001 - the CLI's last line of defence
        raise typer.Exit(report_error(error, debug=debug)) from None
