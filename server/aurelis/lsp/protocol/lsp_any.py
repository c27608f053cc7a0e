"""`LSPAny` values (command arguments, code-action data, settings) as plain JSON data.

pygls structures free-form JSON it receives into namedtuples; code that reads arguments or
settings wants the dicts and lists the client sent, whatever pygls made of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["plain"]


def plain(value: Any) -> Any:
    """JSON-like data from whatever pygls structured it into (namedtuples for LSPAny)."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
