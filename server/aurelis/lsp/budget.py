"""Token budgets for text around a cursor, cheap enough for every keystroke.

Tokenizing a whole 2,000-line file on each inline completion would cost more than the rest
of the request together, so text is first cut to a character window that surely holds the
budget (a token is rarely longer than `_MAX_CHARS_PER_TOKEN` characters of code) and only
that window is tokenized. Cuts land on line boundaries: half a line misleads a model more
than a missing one.
"""

from __future__ import annotations

from aurelis.models.tokens import count_tokens, truncate_head, truncate_tail

__all__ = ["fit_head", "fit_tail", "count_tokens"]

_MAX_CHARS_PER_TOKEN = 8


def fit_tail(text: str, budget: int) -> str:
    """The end of `text` within `budget` tokens, starting at a line start when cut."""
    if budget <= 0 or not text:
        return ""
    if len(text) <= budget:  # every token covers at least one character
        return text
    window = text[-budget * _MAX_CHARS_PER_TOKEN :]
    kept = truncate_tail(window, budget)
    if len(kept) == len(text):
        return text
    newline = kept.find("\n")
    return kept[newline + 1 :] if 0 <= newline < len(kept) - 1 else kept


def fit_head(text: str, budget: int) -> str:
    """The start of `text` within `budget` tokens, ending at a line end when cut."""
    if budget <= 0 or not text:
        return ""
    if len(text) <= budget:
        return text
    window = text[: budget * _MAX_CHARS_PER_TOKEN]
    kept = truncate_head(window, budget)
    if len(kept) == len(text):
        return text
    newline = kept.rfind("\n")
    return kept[: newline + 1] if newline > 0 else kept
