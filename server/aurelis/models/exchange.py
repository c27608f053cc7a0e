"""One request on its way through the pipeline, and the call it becomes for each model.

A `Lookup` is what the cache layer needs (the primary model, its budget, the key); an
`Exchange` is what every later layer shares: the deadline, the trail of failed links and
each model's prompt budget, worked out once per request (the key, the length check before
the chain and the prompt for each model all read the same numbers).

A prompt no model of the fallback chain could take is refused by its length alone, before
it is redacted or tokenized (tokenizing 20 MB takes longer than most deadlines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aurelis.core.config import AurelisConfig
from aurelis.models.cache import cache_key
from aurelis.models.fallback import Trail
from aurelis.models.outcome import PreparedCall
from aurelis.models.prompts import SYSTEM_PROMPTS, build_messages, refuse_oversized
from aurelis.models.providers.base import ProviderCall
from aurelis.models.providers.fim import fim_prompt_for
from aurelis.models.routing import ResolvedModel, input_budget, primary_model, resolve
from aurelis.models.tokens import MAX_CHARS_PER_TOKEN
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["Clock", "Exchange", "Lookup", "prepare_call", "refuse_beyond_chain", "request_key"]

Clock = Callable[[], float]


class Lookup:
    """What the cache layer needs: the request's primary model, resolved, and its key."""

    __slots__ = ("request", "config", "primary", "resolved", "budget", "key")

    def __init__(self, request: ModelRequest, config: AurelisConfig) -> None:
        self.request, self.config = request, config
        self.primary = primary_model(request, config)
        self.resolved = resolve(self.primary, config)
        self.budget = input_budget(self.resolved, request.max_tokens, request.task_type)
        self.key = request_key(request, self.resolved, config, self.budget[1])


class Exchange:
    """One request on its way through the pipeline: what every layer needs to know.

    `deadline_at` is when the request's time is up, on the orchestrator's clock.
    """

    __slots__ = (
        "request",
        "config",
        "primary",
        "resolved",
        "key",
        "deadline_at",
        "trail",
        "_clock",
        "_budgets",
    )

    def __init__(self, lookup: Lookup, clock: Clock) -> None:
        self.request, self.config = lookup.request, lookup.config
        self.primary, self.resolved, self.key = lookup.primary, lookup.resolved, lookup.key
        self._clock = clock
        self._budgets = {lookup.primary: lookup.budget}
        self.deadline_at = clock() + lookup.config.deadline
        self.trail = Trail()

    def time_left(self) -> float:
        """Seconds until the deadline (negative once it has passed)."""
        return self.deadline_at - self._clock()

    def resolve(self, model: ModelType) -> ResolvedModel:
        return self.resolved if model is self.primary else resolve(model, self.config)

    def budget(self, model: ModelType) -> tuple[int, int]:
        """(prompt token budget, output tokens) for `model`, worked out once per request."""
        if model not in self._budgets:
            request = self.request
            resolved = self.resolve(model)
            self._budgets[model] = input_budget(resolved, request.max_tokens, request.task_type)
        return self._budgets[model]


def request_key(
    request: ModelRequest, resolved: ResolvedModel, config: AurelisConfig, output_tokens: int
) -> str | None:
    """The cache and single-flight key; None when the request opts out of the cache."""
    metadata = request.metadata
    if metadata and metadata.get("cache_disabled"):
        return None
    model_file = str(config.local_model_path or "") if resolved.model is ModelType.LOCAL else ""
    return cache_key(request, resolved, output_tokens, model_file=model_file)


def prepare_call(exchange: Exchange, model: ModelType) -> PreparedCall:
    """The request made concrete for `model`: prompt fitted to its window, call ready."""
    request, config = exchange.request, exchange.config
    resolved = exchange.resolve(model)
    budget, output_tokens = exchange.budget(model)
    prompt = build_messages(request, budget)
    call = ProviderCall(
        model=model.value,
        deployment=resolved.deployment,
        messages=prompt.messages,
        temperature=request.temperature,
        max_tokens=output_tokens,
        timeout=config.request_timeout,
        request=request,
        prompt_budget=budget,
        fim=fim_prompt_for(request, model, config.inline_fim),
    )
    return PreparedCall(resolved, prompt, call)


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
