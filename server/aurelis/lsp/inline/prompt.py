"""The model request for an inline completion.

Chat models get the code around the cursor with a cursor marker, inside a token budget:
the prefix takes up to 60 %, the suffix up to 20 %, context the rest. The embedded local
model is a base model that only continues text, so it gets the plain prefix, cut to a
window it can afford (lines and its own tokens, see `inline_window`) with a start that
stays put while the user types, and limits on its generation: a time limit, and the end of
the line when the cursor is mid-line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aurelis.core.secrets import redact
from aurelis.lsp.budget import count_tokens
from aurelis.lsp.context import (
    ContextSources,
    RelatedCode,
    continuation_context,
    inline_context,
    relative_path,
)
from aurelis.lsp.inline.window import (
    ChunkCounter,
    TextWindow,
    TokenCounter,
    WindowLimits,
    window_around,
)
from aurelis.lsp.postprocess import BLOCK_OPENERS, CURSOR_MARKER
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.models.types import ModelRequest, TaskType

__all__ = [
    "FIM_RELATED_SHARE",
    "PREFIX_SHARE",
    "SUFFIX_SHARE",
    "LocalInline",
    "build_inline_request",
    "continuation_parts",
    "wants_single_line",
]

PREFIX_SHARE = 0.6
SUFFIX_SHARE = 0.2
#: Share of the inline budget for related code ahead of a fill-in-the-middle prefix.
FIM_RELATED_SHARE = 0.15
#: Tokens the instructions around the code take (measured: about 70).
_INSTRUCTION_TOKENS = 96
_SINGLE_LINE_TOKENS = 64
_MULTI_LINE_TOKENS = 256
_LOCAL_SINGLE_LINE_TOKENS = 24
_LOCAL_MULTI_LINE_TOKENS = 96
_METADATA = {"source": "lsp", "feature": "inline_completion"}
#: Line caps of a chat model's window (llama.vim's defaults); the token shares bind first
#: on most code. Counted in aligned chunks that are remembered: typing on one line costs
#: one chunk's tokenization, not the whole window's.
_CHAT_PREFIX_LINES = 256
_CHAT_SUFFIX_LINES = 64
_CHAT_TOKENS = ChunkCounter(count_tokens)


@dataclass(frozen=True)
class LocalInline:
    """How inline requests for the embedded model are cut and bounded."""

    window: WindowLimits
    time_limit_ms: int
    count_tokens: TokenCounter
    #: Tokens of related code (path-commented snippets) ahead of the window; 0 for none.
    related_tokens: int = 160
    #: The time limit stops only at a line end (the first line is always finished): for
    #: requests whose answer is meant to stand, not to be extended by speculation.
    whole_lines: bool = False


def wants_single_line(prefix: str, suffix: str) -> bool:
    """Mid-line (text after the cursor) → complete that line only."""
    return bool(suffix.split("\n", 1)[0].strip())


def build_inline_request(
    document: DocumentSnapshot,
    offset: int,
    sources: ContextSources,
    budget: int,
    *,
    local: LocalInline | None,
    speculative: bool = False,
    fim: bool = False,
    temperature: float = 0.0,
) -> ModelRequest | None:
    """The request to send, or None when there is nothing to complete from.

    `local` set: the request goes to the embedded base model. `speculative` marks a request
    made ahead of need (for after the shown suggestion is accepted). `fim`: the chat request
    also carries the same prefix and suffix for fill-in-the-middle (models.providers.fim),
    which a model with an `inline_fim` dialect gets instead of the chat prompt.
    `temperature` is 0 (greedy: the same code gives the same suggestion) unless the user
    sets one.
    """
    prefix, suffix = document.text[:offset], document.text[offset:]
    single = wants_single_line(prefix, suffix)
    if local is not None:
        return _continuation_request(
            document, offset, single, local, speculative, sources, temperature
        )
    max_tokens = _SINGLE_LINE_TOKENS if single else _MULTI_LINE_TOKENS
    limits = WindowLimits(
        prefix_lines=_CHAT_PREFIX_LINES,
        suffix_lines=_CHAT_SUFFIX_LINES,
        prefix_tokens=int(budget * PREFIX_SHARE),
        suffix_tokens=int(budget * SUFFIX_SHARE),
    )
    window = window_around(document.text, offset, limits, _CHAT_TOKENS)
    kept_prefix, kept_suffix = window.prefix, window.suffix
    # Upper bounds, no second tokenization: the fits are within their shares, and a token
    # is at least one character.
    spent = _at_most(kept_prefix, int(budget * PREFIX_SHARE))
    spent += _at_most(kept_suffix, int(budget * SUFFIX_SHARE)) + _INSTRUCTION_TOKENS
    context = inline_context(document, offset, sources, max(budget - spent, 0))
    before, after = redact(kept_prefix), redact(kept_suffix)
    metadata = _metadata(speculative)
    if fim:
        # Imported here: the HTTP stack stays off the server's start-up path.
        from aurelis.models.providers.fim import FIM_METADATA_KEY

        # Fill-in-the-middle routes take no context field: related code goes ahead of the
        # prefix as path-commented snippets, as for the embedded model, or as llama.cpp's
        # `input_extra` (its server formats and caches them itself).
        related = continuation_context(
            document, offset, sources, int(budget * FIM_RELATED_SHARE), count_tokens
        )
        metadata[FIM_METADATA_KEY] = {
            "prefix": before,
            "suffix": after,
            "related": related.text,
            "extra": [list(piece) for piece in related.pieces],
        }
    return ModelRequest(
        prompt=_chat_prompt(document, sources, before, after, single),
        task_type=TaskType.CODE_COMPLETION,
        temperature=temperature,
        max_tokens=max_tokens,
        context=context or None,
        metadata=metadata,
    )


def _at_most(text: str, share: int) -> int:
    return min(len(text), share)


def _shows_one_line(prefix: str) -> bool:
    line = prefix[prefix.rfind("\n") + 1 :].rstrip()
    return bool(line.strip()) and not line.endswith(BLOCK_OPENERS)


def _metadata(speculative: bool) -> dict[str, object]:
    metadata: dict[str, object] = dict(_METADATA)
    if speculative:
        metadata["speculative"] = True
    return metadata


def _continuation_request(
    document: DocumentSnapshot,
    offset: int,
    single: bool,
    local: LocalInline,
    speculative: bool,
    sources: ContextSources,
    temperature: float,
) -> ModelRequest | None:
    text = document.text
    window, related = continuation_parts(document, offset, local, sources)
    prompt = redact(window.prefix)
    if not prompt.strip():
        return None
    if related.text:
        prompt = related.text + prompt
    metadata = _metadata(speculative)
    # Bounds on the generation itself (see models.providers.local): tokens are slow on two
    # CPU threads, and mid-line only the rest of the line is shown.
    metadata["time_limit_ms"] = local.time_limit_ms
    metadata["whole_lines"] = local.whole_lines
    metadata["stop_at_line_end"] = single
    # After text that opens no block, one line is shown (the rest of it, or the next one).
    metadata["stop_after_line"] = not single and _shows_one_line(text[:offset])
    return ModelRequest(
        prompt=prompt,
        task_type=TaskType.CODE_COMPLETION,
        temperature=temperature,
        max_tokens=_LOCAL_SINGLE_LINE_TOKENS if single else _LOCAL_MULTI_LINE_TOKENS,
        metadata=metadata,
    )


def continuation_parts(
    document: DocumentSnapshot, offset: int, local: LocalInline, sources: ContextSources
) -> tuple[TextWindow, RelatedCode]:
    """The window of code before the cursor a base model continues, and the related code
    that goes ahead of it (none of the window's own lines)."""
    window = window_around(document.text, offset, local.window, local.count_tokens)
    in_prompt = (window.start_line, document.text.count("\n", 0, offset))
    related = continuation_context(
        document, offset, sources, local.related_tokens, local.count_tokens, in_prompt
    )
    return window, related


def _chat_prompt(
    document: DocumentSnapshot, sources: ContextSources, prefix: str, suffix: str, single: bool
) -> str:
    """The chat prompt around already redacted `prefix` and `suffix`."""
    code = prefix + CURSOR_MARKER + suffix
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
