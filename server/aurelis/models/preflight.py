"""Cheap refusals before a model is called: answers that must not cost time.

- A prompt no model of the fallback chain could take is refused by its length alone,
  before it is redacted or tokenized (tokenizing 20 MB takes longer than most deadlines).
- An interactive request (someone is typing) gets the embedded model only when it is
  loaded and free: loading takes seconds and a generation in progress holds the model, so
  either would make the user wait. It is refused like a request that finds no rate-limit
  slot, and the chain ends (an inline completion then answers empty at once).
"""

from __future__ import annotations

from collections.abc import Iterable

from aurelis.models.prompts import SYSTEM_PROMPTS, refuse_oversized
from aurelis.models.ratelimit import ClientRateLimitError
from aurelis.models.routing import ResolvedModel
from aurelis.models.tokens import MAX_CHARS_PER_TOKEN
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["refuse_beyond_chain", "refuse_unless_idle"]


def refuse_beyond_chain(request: ModelRequest, chain: Iterable[tuple[ResolvedModel, int]]) -> None:
    """PromptTooLongError when the prompt surely exceeds the largest window of `chain`.

    `chain` holds each model with its prompt token budget for this request (the one the
    call will be built with). It is read lazily and only until a window takes the prompt
    (usually the first): resolving every model of the chain for each request cost more
    than the check.
    """
    system = request.system_prompt or SYSTEM_PROMPTS[request.task_type]
    chars = len(system) + len(request.prompt)
    largest: tuple[int, ResolvedModel] | None = None
    for resolved, budget in chain:
        if chars <= budget * MAX_CHARS_PER_TOKEN:
            return  # this model may take it
        if largest is None or budget > largest[0]:
            largest = (budget, resolved)
    if largest is None:
        return
    budget, widest = largest
    where = f"{widest.model.value}, the largest window of the fallback chain,"
    refuse_oversized(chars, budget, where)


def refuse_unless_idle(local: object) -> None:
    """ClientRateLimitError unless the local provider is loaded and not generating."""
    state, busy = getattr(local, "state", "ready"), getattr(local, "busy", False)
    if state == "ready" and not busy:
        return
    why = "busy with another request" if state == "ready" else f"not loaded ({state})"
    raise ClientRateLimitError(
        f"local: {why}; interactive requests do not wait", model=ModelType.LOCAL.value
    )
