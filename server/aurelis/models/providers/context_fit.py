"""A prompt the server found too long: read its limit from the 400, refit, try once more.

OpenAI, vLLM and llama-cpp-python's server all answer such a request with 400 "This model's
maximum context length is N tokens. However, you requested M tokens (P in the messages, C in
the completion)". Our prompts are counted with cl100k, which undercounts other tokenizers
(gemma by 1.5x), so `context_windows` alone cannot prevent it. The server's numbers tell us
its window and its tokens per token of ours; both are remembered (`server_limits`) so later
requests fit the first time, and this one is rebuilt to fit and sent again, once.
"""

from __future__ import annotations

import dataclasses
import re

from aurelis.core.exceptions import PromptTooLongError
from aurelis.models.prompts import build_messages
from aurelis.models.providers.base import ProviderCall
from aurelis.models.server_limits import learn_limit
from aurelis.models.tokens import count_tokens

__all__ = ["ContextLengthError", "context_length_error", "refit"]

_LIMIT = re.compile(
    r"maximum context length is (\d+)|exceeds? (?:the )?context window of (\d+)", re.I
)
_REQUESTED = re.compile(r"requested (\d+) tokens|Requested tokens \((\d+)\)", re.I)
_IN_MESSAGES = re.compile(r"\((\d+) in (?:the messages|your prompt)", re.I)
# Chat framing and the server's template cost tokens our count of the contents misses.
_SLACK = 1.05
_MAX_RATIO = 4.0


class ContextLengthError(PromptTooLongError):
    """400: the prompt and the output reserve exceed the server's context window (a model
    with a larger window may still take it, as with any PromptTooLongError)."""

    def __init__(
        self, message: str, *, model: str, limit: int, requested: int | None, prompt: int | None
    ) -> None:
        super().__init__(
            message,
            model=model,
            status_code=400,
            hint=f"set context_windows.{model} to {limit} (the server's window), or shorten "
            "the prompt and its context",
        )
        self.limit, self.requested, self.prompt = limit, requested, prompt


def context_length_error(message: str, model: str) -> ContextLengthError | None:
    """The server's "too long" 400 as our error; None when `message` is another 400."""
    limit = _first_number(_LIMIT, message)
    if limit is None:
        return None
    return ContextLengthError(
        f"{model}'s server rejected the prompt as too long: {message}",
        model=model,
        limit=limit,
        requested=_first_number(_REQUESTED, message),
        prompt=_first_number(_IN_MESSAGES, message),
    )


def refit(call: ProviderCall, error: ContextLengthError, endpoint: str) -> ProviderCall:
    """`call` rebuilt to fit the window the server named (and that window remembered)."""
    ours = sum(count_tokens(message.get("content") or "") for message in call.messages) or 1
    theirs = error.prompt or (
        error.requested - call.max_tokens if error.requested is not None else None
    )
    # Clamped: no real tokenizer counts 4x cl100k, and a server's numbers may be odd.
    ratio = min(max(theirs / ours, 1.0), _MAX_RATIO) * _SLACK if theirs else _SLACK
    learn_limit(endpoint, call.deployment, context_window=error.limit, token_ratio=ratio)
    output = min(call.max_tokens, error.limit // 2)
    budget = int((error.limit - output) / ratio)
    try:
        prompt = build_messages(call.request, budget)
    except PromptTooLongError as too_long:
        raise PromptTooLongError(
            f"{too_long.message} (the server's window is {error.limit} of its tokens)",
            model=call.model,
            hint="shorten the prompt, or route this task to a model with a larger window",
        ) from None
    return dataclasses.replace(
        call, messages=prompt.messages, max_tokens=output, prompt_budget=budget
    )


def _first_number(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    if match is None:
        return None
    return int(next(group for group in match.groups() if group is not None))
