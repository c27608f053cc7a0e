"""The model request for an inline completion.

Chat models get the code around the cursor with a cursor marker, inside a token budget:
the prefix takes up to 60 %, the suffix up to 20 %, context the rest. The embedded local
model is a base model that only continues text, so it gets the plain prefix.
"""

from __future__ import annotations

import re

from aurelis.core.redaction import redact
from aurelis.lsp.budget import fit_head, fit_tail
from aurelis.lsp.context import ContextSources, inline_context, relative_path
from aurelis.lsp.documents import DocumentSnapshot
from aurelis.lsp.postprocess import CURSOR_MARKER
from aurelis.models.types import ModelRequest, TaskType

__all__ = ["PREFIX_SHARE", "SUFFIX_SHARE", "build_inline_request", "wants_single_line"]

PREFIX_SHARE = 0.6
SUFFIX_SHARE = 0.2
#: Tokens the instructions around the code take (measured: about 70).
_INSTRUCTION_TOKENS = 96
_SINGLE_LINE_TOKENS = 64
_MULTI_LINE_TOKENS = 256
_LOCAL_SINGLE_LINE_TOKENS = 24
_LOCAL_MULTI_LINE_TOKENS = 96
_METADATA = {"source": "lsp", "feature": "inline_completion"}


def wants_single_line(prefix: str, suffix: str) -> bool:
    """Mid-line (text after the cursor) → complete that line only."""
    return bool(suffix.split("\n", 1)[0].strip())


def build_inline_request(
    document: DocumentSnapshot,
    offset: int,
    sources: ContextSources,
    budget: int,
    *,
    local: bool,
) -> ModelRequest | None:
    """The request to send, or None when there is nothing to complete from."""
    prefix, suffix = document.text[:offset], document.text[offset:]
    single = wants_single_line(prefix, suffix)
    if local:
        # About 45 tokens/s on two CPU threads: every token is felt while typing.
        max_tokens = _LOCAL_SINGLE_LINE_TOKENS if single else _LOCAL_MULTI_LINE_TOKENS
        return _continuation_request(prefix, budget, max_tokens)
    max_tokens = _SINGLE_LINE_TOKENS if single else _MULTI_LINE_TOKENS
    kept_prefix = fit_tail(prefix, int(budget * PREFIX_SHARE))
    kept_suffix = fit_head(suffix, int(budget * SUFFIX_SHARE))
    # Upper bounds, no second tokenization: the fits are within their shares, and a token
    # is at least one character.
    spent = _at_most(kept_prefix, int(budget * PREFIX_SHARE))
    spent += _at_most(kept_suffix, int(budget * SUFFIX_SHARE)) + _INSTRUCTION_TOKENS
    context = inline_context(document, offset, sources, max(budget - spent, 0))
    prompt = _chat_prompt(document, sources, kept_prefix, kept_suffix, single)
    return ModelRequest(
        prompt=prompt,
        task_type=TaskType.CODE_COMPLETION,
        temperature=0.1,
        max_tokens=max_tokens,
        context=context or None,
        metadata=dict(_METADATA),
    )


def _at_most(text: str, share: int) -> int:
    return min(len(text), share)


def _continuation_request(prefix: str, budget: int, max_tokens: int) -> ModelRequest | None:
    text = redact(fit_tail(prefix, budget))
    if not text.strip():
        return None
    return ModelRequest(
        prompt=text,
        task_type=TaskType.CODE_COMPLETION,
        temperature=0.1,
        max_tokens=max_tokens,
        metadata=dict(_METADATA),
    )


def _chat_prompt(
    document: DocumentSnapshot, sources: ContextSources, prefix: str, suffix: str, single: bool
) -> str:
    code = redact(prefix) + CURSOR_MARKER + redact(suffix)
    fence = _fence_for(code)
    scope = " Complete the current line only." if single else ""
    return (
        f"Complete the {document.language_id} code at {CURSOR_MARKER} in "
        f"`{relative_path(document, sources.roots)}`. Answer with only the text to insert at "
        "the marker: no explanation, no code fences, and nothing that is already before or "
        f"after the marker.{scope}\n\n{fence}{document.language_id}\n{code}\n{fence}"
    )


def _fence_for(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    return "`" * (longest + 1)
