"""Sharing a request's deadline among the links of its fallback chain.

Each remote link gets at most what leaves the rest of the chain time to answer: when the
chain ends in the embedded LOCAL model, the last `local_reserve` seconds of the deadline are
kept for it, so a hung endpoint still yields a local answer before the deadline instead of
an error at it. A cold load of the local model takes seconds, so `LocalWarmup` starts it in
the background once a remote link has been waiting `local_warmup_after` seconds, or as soon
as a link fails and the chain is on its way down.

An interactive request (someone is typing) gets the embedded model only when it is loaded
and free (`refuse_unless_idle`): loading takes seconds and a generation in progress holds
the model, so either would make the user wait. It is refused like a request that finds no
rate-limit slot, and the chain ends (an inline completion then answers empty at once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ModelTimeoutError, RateLimitError
from aurelis.models.breaker import CircuitOpenError
from aurelis.models.providers.registry import ProviderRegistry
from aurelis.models.ratelimit import ClientRateLimitError
from aurelis.models.types import ModelType

__all__ = ["LocalWarmup", "refuse_unless_idle", "reserve_after", "within_share"]

logger = logging.getLogger("aurelis.models")

T = TypeVar("T")
TimeLeft = Callable[[], float]


def reserve_after(model: ModelType, chain: list[ModelType], config: AurelisConfig) -> float:
    """Seconds of the deadline the links after `model` keep for themselves."""
    later = chain[chain.index(model) + 1 :] if model in chain else []
    return config.local_reserve if ModelType.LOCAL in later else 0.0


class _Exchange(Protocol):
    """What this module needs of the pipeline's Exchange."""

    config: AurelisConfig

    def time_left(self) -> float: ...


async def within_share(
    exchange: _Exchange,
    model: ModelType,
    chain: list[ModelType],
    run: Callable[[TimeLeft], Awaitable[T]],
) -> T:
    """`run(share_left)` for one link, stopped when its share of the deadline is spent.

    `share_left()` is the link's own time left (retries plan with it). Running out is a
    ModelTimeoutError of that link, so the chain moves on.
    """
    time_left = exchange.time_left
    reserve = reserve_after(model, chain, exchange.config)
    if reserve <= 0:
        return await run(time_left)
    share = time_left() - reserve
    if share <= 0:
        raise _out_of_share(model, reserve, "no time was left")
    try:
        async with asyncio.timeout(share) as scope:
            return await run(lambda: time_left() - reserve)
    except TimeoutError:
        if not scope.expired():
            raise  # the request's own deadline: not ours to translate
        what = f"it did not answer within its {share:.0f}s share"
        raise _out_of_share(model, reserve, what) from None


def _out_of_share(model: ModelType, reserve: float, what: str) -> ModelTimeoutError:
    return ModelTimeoutError(
        f"{model.value}: {what}; the last {reserve:g}s of the deadline are kept for the "
        "local model",
        model=model.value,
        hint="raise `deadline`, or lower `local_reserve` if the local model answers faster",
    )


class LocalWarmup:
    """Loads the local model in the background while a request waits on remote links."""

    def __init__(
        self, providers: ProviderRegistry, config: AurelisConfig, chain: list[ModelType]
    ) -> None:
        self._providers, self._config = providers, config
        wanted = ModelType.LOCAL in chain[1:] and config.local_preload != "never"
        self._timer: asyncio.Task[None] | None = None
        self._loading = False
        if wanted and self._preload() is not None:
            self._timer = asyncio.get_running_loop().create_task(self._after_delay())

    def now(self, error: BaseException) -> None:
        """A link failed: the chain is heading for the local model; load it at once.

        Not for a limit of ours (a rate limit, an open breaker): those refuse at once, and a
        burst of editor requests held back by them must not load a model nobody waits for.
        """
        if isinstance(error, (RateLimitError, CircuitOpenError)):
            return
        if self._timer is not None and not self._loading:
            self._timer.cancel()
            self._timer = asyncio.get_running_loop().create_task(self._load())

    def __enter__(self) -> LocalWarmup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # The request is over: a load not begun yet is not needed for it.
        if self._timer is not None and not self._loading:
            self._timer.cancel()

    def _preload(self) -> Callable[[], Awaitable[object]] | None:
        provider = self._providers.provider_for(ModelType.LOCAL, self._config)
        if getattr(provider, "state", None) != "not_loaded":
            return None  # loaded, loading, failed, or a provider without a load step
        preload: Callable[[], Awaitable[object]] | None = getattr(provider, "preload", None)
        return preload

    async def _after_delay(self) -> None:
        await asyncio.sleep(self._config.local_warmup_after)
        await self._load()

    async def _load(self) -> None:
        preload = self._preload()
        if preload is None:
            return
        self._loading = True
        logger.debug("loading the local model in the background for a slow request")
        await preload()


def refuse_unless_idle(local: object) -> None:
    """ClientRateLimitError unless the local provider is loaded and not generating."""
    state, busy = getattr(local, "state", "ready"), getattr(local, "busy", False)
    if state == "ready" and not busy:
        return
    why = "busy with another request" if state == "ready" else f"not loaded ({state})"
    raise ClientRateLimitError(
        f"local: {why}; interactive requests do not wait", model=ModelType.LOCAL.value
    )
