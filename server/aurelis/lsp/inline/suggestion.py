"""From a model's answer to the suggestion shown, and the limits of a local request: the
part of the inline path that the editor, `aurelis context` and `aurelis eval lines` share,
so what is measured and shown is what the editor gets.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from aurelis.core.secrets import REDACTED
from aurelis.lsp.inline.prompt import LocalInline
from aurelis.lsp.inline.quality import (
    CUT_SHORT,
    drop_repetition,
    is_degenerate,
    keep_complete_code,
)
from aurelis.lsp.inline.window import ChunkCounter, TokenCounter, WindowLimits
from aurelis.lsp.postprocess import clean_inline, drop_unfinished_string
from aurelis.models.providers.local_limits import LINE_CUT

if TYPE_CHECKING:  # the config (pydantic) loads after initialize, not at start-up
    from aurelis.core.config import AurelisConfig

__all__ = ["estimated_local_tokens", "local_limits", "local_token_counter", "suggestion_from"]

#: How much code before the cursor a cut answer's last word is checked against.
_KNOWN_CHARS = 4000


def local_limits(config: AurelisConfig, *, typing: bool, count_tokens: TokenCounter) -> LocalInline:
    """Window and limits of an inline request to the embedded model.

    While typing, the model gets the short time limit (llama.vim's quick first request):
    the suggestion shows soon, and speculation extends it in the background. Otherwise
    (invoked, speculated, `aurelis eval`) the limit ends the answer only at a line end, so
    its lines are whole and the same on every run (greedy).
    """
    limits = WindowLimits(
        prefix_lines=config.inline_local_prefix_lines,
        suffix_lines=0,  # a base model only continues the text before the cursor
        prefix_tokens=config.inline_local_prefix_tokens,
        suffix_tokens=0,
        align_lines=config.inline_window_align_lines,
    )
    limit = (
        config.inline_local_typing_time_limit_ms if typing else config.inline_local_time_limit_ms
    )
    return LocalInline(limits, limit, count_tokens, whole_lines=not typing)


def local_token_counter(model: object | None) -> TokenCounter:
    """How an embedded-model window is measured: with `model`'s own tokenizer once it is
    loaded (per chunk, remembered: one counter per model), else `estimated_local_tokens`.
    The estimate errs high, so a window cut with it is smaller than the editor's:
    `aurelis eval` must count as the editor does."""
    count = getattr(model, "count_tokens", None)
    if model is None or count is None or getattr(model, "state", None) != "ready":
        return estimated_local_tokens
    counter = _COUNTERS.get(model)
    if counter is None:
        counter = _COUNTERS[model] = ChunkCounter(lambda text: count(text) or 0)
    return counter


#: The chunk counter of each loaded model (gone with the model).
_COUNTERS: weakref.WeakKeyDictionary[object, ChunkCounter] = weakref.WeakKeyDictionary()


def estimated_local_tokens(text: str) -> int:
    """Before the local model is loaded: gemma 3 takes about 1.8 characters of code per
    token (18,821 tokens for a 34 KB Python file); err on the side of more tokens."""
    return len(text) * 10 // 17 + 1


def suggestion_from(
    answer: str,
    prefix: str,
    suffix: str,
    language_id: str,
    *,
    continuation: bool,
    finish_reason: object = None,
) -> str:
    """The suggestion to show for `answer`, or "" when it is not worth showing."""
    if finish_reason == LINE_CUT:  # stopped by the clock after the first line
        answer = answer[: answer.rfind("\n") + 1].rstrip("\n")
    text = clean_inline(answer, prefix, suffix, continuation=continuation)
    text = drop_repetition(text)
    if not text or is_degenerate(text, suffix):
        return ""
    # A suggestion holding a redaction marker would write the marker into the code.
    if REDACTED in text:
        return ""
    return _shaped(text, prefix, language_id, cut_short=finish_reason in CUT_SHORT)


def _shaped(text: str, prefix: str, language_id: str, *, cut_short: bool) -> str:
    """Only code that can stand: no unfinished string, and a cut answer up to its last
    complete token (see quality.keep_complete_code)."""
    python = language_id == "python"
    if python:
        text = drop_unfinished_string(text, prefix)
    if cut_short and text:
        line_prefix = prefix[prefix.rfind("\n") + 1 :]
        text = keep_complete_code(text, line_prefix, python, known=prefix[-_KNOWN_CHARS:])
    return text
