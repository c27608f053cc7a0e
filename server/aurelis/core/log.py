"""Logging: stderr or a file (never stdout, which belongs to the LSP), secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from aurelis.core.redaction import redact

__all__ = ["configure_logging", "log_event", "RedactingFilter"]

_HANDLER_NAME = "aurelis"


class RedactingFilter(logging.Filter):
    """Masks credentials in every record before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    """Install one handler on the `aurelis` logger; calling again replaces it."""
    logger = logging.getLogger("aurelis")
    for old in list(logger.handlers):
        if old.get_name() == _HANDLER_NAME:
            logger.removeHandler(old)
    handler = _new_handler(log_file)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def _new_handler(log_file: Path | None) -> logging.Handler:
    if log_file is None:
        return logging.StreamHandler(sys.stderr)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    return logging.FileHandler(log_file, encoding="utf-8")


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """One structured line: `event {json}`, cheap when the level is disabled."""
    if logger.isEnabledFor(level):
        logger.log(level, "%s %s", event, json.dumps(fields, default=str, sort_keys=True))
