"""Cheap refusals before a model is called: answers that must not cost time.

- A prompt no model of the fallback chain could take is refused by its length alone,
  before it is redacted or tokenized (tokenizing 20 MB takes longer than most deadlines).
- An interactive request (someone is typing) gets the embedded model only when it is
  loaded and free: loading takes seconds and a generation in progress holds the model, so
  either would make the user wait. It is refused like a request that finds no rate-limit
  slot, and the chain ends (an inline completion then answers empty at once).
"""

from __future__ import annotations

from collections.abc import Sequence

from aurelis.models.prompts import SYSTEM_PROMPTS, refuse_oversized
from aurelis.models.ratelimit import ClientRateLimitError
from aurelis.models.routing import ResolvedModel, input_budget
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["refuse_beyond_chain", "refuse_unless_idle"]


def refuse_beyond_chain(request: ModelRequest, chain: Sequence[ResolvedModel]) -> None:
    """PromptTooLongError when the prompt surely exceeds the largest window of `chain`."""
    if not chain:
        return
    budgets = [(input_budget(resolved, request.max_tokens)[0], resolved) for resolved in chain]
    budget, largest = max(budgets, key=lambda pair: pair[0])
    system = request.system_prompt or SYSTEM_PROMPTS[request.task_type]
    where = f"{largest.model.value}, the largest window of the fallback chain,"
    refuse_oversized(len(system) + len(request.prompt), budget, where)


def refuse_unless_idle(local: object) -> None:
    """ClientRateLimitError unless the local provider is loaded and not generating."""
    state, busy = getattr(local, "state", "ready"), getattr(local, "busy", False)
    if state == "ready" and not busy:
        return
    why = "busy with another request" if state == "ready" else f"not loaded ({state})"
    raise ClientRateLimitError(
        f"local: {why}; interactive requests do not wait", model=ModelType.LOCAL.value
    )
