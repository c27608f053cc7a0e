"""Logging: stderr or a file (never stdout, which belongs to the LSP), secrets redacted.

Every handler installed here redacts twice: a filter cleans the message and the
traceback text of each record before any handler sees it (libraries such as pygls log
request parameters and exceptions whose text quotes them), and the formatter redacts the
finished line, so nothing a format string or a traceback adds escapes. The log file is
created 0600 and never opened through a symlink (`core.private_files`). Lines are then
cut short and repeats rate-limited (`core.log_limits`): clients choose what many of them
quote.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from aurelis.core.log_limits import STRUCTURED_EVENT, BoundedFilter
from aurelis.core.private_files import open_private_append
from aurelis.core.secrets import redact

__all__ = [
    "configure_logging",
    "log_event",
    "RedactingFilter",
    "RedactingFormatter",
    "PrivateFileHandler",
]

_HANDLER_NAME = "aurelis"


class RedactingFilter(logging.Filter):
    """Masks credentials in every record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set: give them the redacted traceback.
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


class RedactingFormatter(logging.Formatter):
    """Redacts the whole formatted line, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PrivateFileHandler(logging.FileHandler):
    """A FileHandler whose file is created 0600 and never opened through a symlink."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, mode="a", encoding="utf-8", delay=False)

    def _open(self) -> Any:
        return open_private_append(Path(self.baseFilename), encoding=self.encoding or "utf-8")


def configure_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    """Install one handler on the `aurelis` logger; calling again replaces it."""
    logger = logging.getLogger("aurelis")
    for old in list(logger.handlers):
        if old.get_name() == _HANDLER_NAME:
            logger.removeHandler(old)
    try:
        handler = _new_handler(log_file)
    except (OSError, ValueError) as error:
        # A log file that cannot be written must not stop the program: stderr instead.
        _warn_log_fallback(log_file, error)
        handler = _new_handler(None)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    # After redaction: a cut must never leave half a secret the rules no longer recognise.
    handler.addFilter(BoundedFilter())
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


_warned_log_files: set[str] = set()


def _warn_log_fallback(log_file: Path | None, error: BaseException) -> None:
    if str(log_file) in _warned_log_files:
        return  # one warning per file, however often logging is configured
    _warned_log_files.add(str(log_file))
    reason = getattr(error, "strerror", None) or str(error)
    print(
        redact(f"warning: cannot write the log file {log_file} ({reason}); logging to stderr"),
        file=sys.stderr,
        flush=True,
    )


def _new_handler(log_file: Path | None) -> logging.Handler:
    if log_file is None:
        return logging.StreamHandler(sys.stderr)
    return PrivateFileHandler(log_file)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """One structured line: `event {json}`, cheap when the level is disabled."""
    if logger.isEnabledFor(level):
        line = json.dumps(fields, default=str, sort_keys=True)
        logger.log(level, "%s %s", event, line, extra={STRUCTURED_EVENT: True})
