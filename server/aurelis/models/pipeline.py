"""The request pipeline: what happens between `process_request` and the provider.

Each layer is named for its one concern and calls the next, top to bottom (in the manner of
httpx's send → _send_handling_auth → _send_handling_redirects → _send_single_request):

    answer                      cache hit? else one call per key (single-flight), then store
      _answer_handling_fallback     the deadline; each model of the chain in turn
        _answer_handling_retries        the model's breaker, the prompt prepared; retries
          _answer_once                      breaker probe + rate-limit slot, one provider call

A stream takes the same layers with `_stream_once` as the last: errors before its first
chunk may be retried or fall back; after it the model is committed.

Every layer after the cache gets one `Exchange`: the request, the config in force, the
primary model, the cache key, the deadline and the trail of failed links (a cache hit needs
only the key, so no exchange is built for it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any, Protocol, TypeVar

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import (
    AuthenticationError,
    ModelError,
    ModelTimeoutError,
    PromptTooLongError,
    RateLimitError,
    is_transient,
)
from aurelis.models.breaker import BreakerRegistry, BreakerState, CircuitBreaker, CircuitOpenError
from aurelis.models.cache import ResponseCache
from aurelis.models.chain_budget import LocalWarmup, refuse_unless_idle, within_share
from aurelis.models.exchange import Clock, Exchange, Lookup, prepare_call, refuse_beyond_chain
from aurelis.models.fallback import Trail, chain_failure, fallback_chain
from aurelis.models.outcome import Answer, Hit, Outcome, PreparedCall
from aurelis.models.providers.base import Completion, StreamChunk
from aurelis.models.providers.registry import ProviderFactory, ProviderRegistry
from aurelis.models.ratelimit import ModelRateLimiter, RateLimiterRegistry
from aurelis.models.retry import RetryPolicy, call_with_retries
from aurelis.models.shared.state import SharedStateHolder, is_interactive
from aurelis.models.singleflight import SingleFlight
from aurelis.models.stats import StatsRegistry
from aurelis.models.tokens import ModelTokenizer, counting_deadline, counting_with, model_tokenizer
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["Pipeline"]

logger = logging.getLogger("aurelis.models")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Guard = AbstractAsyncContextManager[Any]
Sleep = Callable[[float], Awaitable[None]]


class _CallOnce(Protocol[T_co]):
    """The last layer: one call to one model (`_answer_once` or `_stream_once`)."""

    def __call__(
        self, exchange: Exchange, prepared: PreparedCall, breaker: CircuitBreaker
    ) -> Awaitable[T_co]: ...


class Pipeline:
    """The parts a request passes through, and the layers that drive them."""

    def __init__(
        self,
        *,
        providers: Mapping[str, ProviderFactory] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self.providers = ProviderRegistry(providers)
        self.cache = ResponseCache(clock=clock)
        self.breakers = BreakerRegistry(clock=clock)
        self.limiters = RateLimiterRegistry(clock=clock, sleep=sleep)
        self.stats = StatsRegistry()
        self._flights: SingleFlight[Outcome] = SingleFlight()
        #: Redis-backed limits, cache tier, single-flight, breakers, budgets (redis_url).
        self.shared = SharedStateHolder(
            limiters=self.limiters,
            breakers=self.breakers,
            cache=self.cache,
            stats=self.stats,
            sleep=sleep,
        )

    # --- cache ------------------------------------------------------------------------------
    def begin(self, request: ModelRequest, config: AurelisConfig) -> Hit | Exchange:
        """A cache hit, or else the exchange that will answer the request."""
        lookup = Lookup(request, config)
        # With Redis, the disk tier comes after it (see lower_tiers).
        hit = self._cached(lookup.key, config, disk=self.shared.state(config) is None)
        return hit if hit is not None else Exchange(lookup, self.clock)

    async def answer(self, request: ModelRequest, config: AurelisConfig) -> tuple[Outcome, bool]:
        """(outcome, shared): shared when an identical request's call answered it."""
        exchange = self.begin(request, config)
        if isinstance(exchange, Hit):
            return exchange, False
        if exchange.key is None:
            return await self._answer_and_store(exchange), False
        return await self._flights.do(exchange.key, lambda: self._answer_shared(exchange))

    def _cached(self, key: str | None, config: AurelisConfig, *, disk: bool = True) -> Hit | None:
        if key is None or not config.cache_enabled:
            return None
        entry = self.cache.get(key, config, disk=disk)
        if entry is None:
            return None
        self.stats[entry.model_used].cache_hits += 1
        return Hit(entry)

    async def lower_tiers(self, exchange: Exchange) -> Hit | None:
        """After a memory miss with Redis configured: the shared tier, then the disk."""
        return await self.shared.lower_tiers(exchange.config, exchange.key, exchange.request)

    async def _answer_shared(self, exchange: Exchange) -> Outcome:
        """The lower cache tiers, then one call per key across every process (Redis)."""
        hit = await self.lower_tiers(exchange)
        if hit is not None:
            return hit
        call = partial(self._answer_and_store, exchange)
        return await self.shared.one_call(exchange.config, exchange.key, exchange.request, call)

    async def _answer_and_store(self, exchange: Exchange) -> Outcome:
        answer = await self._answer_handling_fallback(exchange, self._answer_once)
        await self._store(exchange, answer)
        return answer

    async def _store(self, exchange: Exchange, answer: Answer) -> None:
        if exchange.key is not None and exchange.config.cache_enabled and answer.cacheable:
            entry = answer.entry()
            self.cache.put(exchange.key, entry, exchange.config)
            await self.shared.store(exchange.config, exchange.key, entry)

    async def open_stream(self, exchange: Exchange) -> AsyncGenerator[str, None]:
        """A stream that has delivered its first chunk (fallback and retries done)."""
        return await self._answer_handling_fallback(exchange, self._stream_once)

    # --- fallback ---------------------------------------------------------------------------
    async def _answer_handling_fallback(self, exchange: Exchange, call_once: _CallOnce[T]) -> T:
        """Try each model of the chain until one answers, within the request's deadline."""
        seconds = exchange.config.deadline
        try:
            async with asyncio.timeout(seconds):
                return await self._walk_chain(exchange, call_once)
        except TimeoutError:
            raise _deadline_error(seconds, exchange.trail) from None

    async def _walk_chain(self, exchange: Exchange, call_once: _CallOnce[T]) -> T:
        chain = fallback_chain(exchange.primary, exchange.config)
        windows = ((exchange.resolve(model), exchange.budget(model)[0]) for model in chain)
        refuse_beyond_chain(exchange.request, windows)
        trail = exchange.trail
        # Prompt building tokenizes on the loop, where asyncio.timeout cannot reach it.
        with (
            counting_deadline(exchange.deadline_at, self.clock),
            LocalWarmup(self.providers, exchange.config, chain) as warmup,
        ):
            while True:
                for model in chain:
                    trail.start(model)
                    link = partial(self._answer_handling_retries, exchange, model, call_once)
                    try:
                        return await within_share(exchange, model, chain, link)
                    except Exception as error:  # noqa: BLE001 - sorted out right here
                        _raise_unless_fallback_helps(error)
                        trail.failed(model, error)
                        warmup.now(error)  # heading down the chain: have the local model ready
                if not await self._await_probe(chain, exchange):
                    raise chain_failure(trail.attempts)
                trail.attempts.clear()

    async def _await_probe(self, chain: list[ModelType], exchange: Exchange) -> bool:
        # Failing at once because every model is cooling down would turn a short outage
        # into errors for everyone; when the first probe is due before the deadline, wait.
        attempts = exchange.trail.attempts
        if not attempts or not all(isinstance(a.error, CircuitOpenError) for a in attempts):
            return False
        # Each refusal says when its breaker probes next (shared breakers live in Redis).
        wait = min(a.error.retry_in for a in attempts if isinstance(a.error, CircuitOpenError))
        if wait >= exchange.time_left():
            return False
        await self.sleep(wait)
        return True

    # --- retries ----------------------------------------------------------------------------
    async def _answer_handling_retries(
        self,
        exchange: Exchange,
        model: ModelType,
        call_once: _CallOnce[T],
        time_left: Callable[[], float] | None = None,
    ) -> T:
        """One model of the chain: skipped while its breaker is open, else retried calls."""
        config = exchange.config
        breaker = self.breakers.get(model, config)
        if not breaker.would_allow():
            raise CircuitOpenError(model.value, breaker.retry_in())
        if model is ModelType.LOCAL and is_interactive(exchange.request):
            refuse_unless_idle(self.providers.provider_for(model, config))
        tokenizer = self._own_tokenizer(exchange, model)
        with counting_with(tokenizer):
            prepared = prepare_call(exchange, model)
        trail = exchange.trail

        async def attempt() -> T:
            try:
                with counting_with(tokenizer):  # the local provider fits its prompt too
                    return await call_once(exchange, prepared, breaker)
            except Exception as error:
                trail.retrying = error
                raise

        return await call_with_retries(
            attempt,
            RetryPolicy.from_config(config),
            time_left=time_left or exchange.time_left,  # this link's share of the deadline
            can_retry=lambda: breaker.state is not BreakerState.OPEN,
            sleep=self.sleep,
        )

    def _own_tokenizer(self, exchange: Exchange, model: ModelType) -> ModelTokenizer | None:
        """The local model counts prompts with its own tokenizer once loaded (not a ratio)."""
        if model is not ModelType.LOCAL:
            return None
        provider = self.providers.provider_for(model, exchange.config)
        return model_tokenizer(provider, exchange.resolve(model).token_ratio)

    # --- one call ---------------------------------------------------------------------------
    async def _answer_once(
        self, exchange: Exchange, prepared: PreparedCall, breaker: CircuitBreaker
    ) -> Answer:
        """One call to one model, holding its breaker probe and a rate-limit slot."""
        model, config = prepared.model, exchange.config
        limiter = self.limiters.get(model, config)
        await self.shared.check_budget(config, model, interactive=is_interactive(exchange.request))
        probe, slot = self._guards(exchange, prepared, breaker, limiter)
        async with probe, slot:
            started = time.perf_counter()
            provider = self.providers.provider_for(model, config)
            try:
                completion = await provider.complete(prepared.call)
            except BaseException as error:
                await self._call_failed(exchange, prepared, limiter, error)
                raise
            answer = self._answered(exchange, prepared, limiter, completion, started)
            await self.shared.answered(config, prepared, completion.rate_limit, answer.tokens)
            return answer

    def _guards(
        self,
        exchange: Exchange,
        prepared: PreparedCall,
        breaker: CircuitBreaker,
        limiter: ModelRateLimiter,
    ) -> tuple[Guard, Guard]:
        """The breaker probe and the rate-limit slot of one call: shared ones with Redis."""
        model, config = prepared.model, exchange.config
        mode, max_wait = config.rate_limit_mode, exchange.time_left()
        shared = self.shared.guards(
            config,
            model,
            prepared.resolved.deployment,
            mode=mode,
            max_wait=max_wait,
            interactive=is_interactive(exchange.request),
        )
        if shared is not None:
            return shared
        slot = limiter.slot(
            model.value, mode=mode, max_wait=max_wait, interactive=is_interactive(exchange.request)
        )
        return breaker.probe(model.value), slot

    async def _stream_once(
        self, exchange: Exchange, prepared: PreparedCall, breaker: CircuitBreaker
    ) -> AsyncGenerator[str, None]:
        """Open a stream and wait for its first chunk: errors until then may fall back."""
        stream = self._stream(exchange, prepared, breaker)
        await anext(stream)  # the stream's first step ends once the model has started
        return stream

    async def _stream(
        self, exchange: Exchange, prepared: PreparedCall, breaker: CircuitBreaker
    ) -> AsyncGenerator[str, None]:
        """Yields "" once the first chunk is in, then the text; stores the answer at the end.

        The probe and the slot are held until the stream ends or is closed.
        """
        model, config = prepared.model, exchange.config
        limiter = self.limiters.get(model, config)
        await self.shared.check_budget(config, model, interactive=is_interactive(exchange.request))
        probe, slot = self._guards(exchange, prepared, breaker, limiter)
        async with probe, slot:
            started = time.perf_counter()
            chunks = self.providers.provider_for(model, config).stream(prepared.call)
            parts: list[str] = []
            final: Completion | None = None
            try:
                chunk = await anext(chunks, None)
                yield ""
                while chunk is not None:
                    final = chunk.final or final
                    if chunk.text:
                        parts.append(chunk.text)
                        yield chunk.text
                    chunk = await _next_chunk(chunks, exchange, model)
            except BaseException as error:
                await self._call_failed(exchange, prepared, limiter, error)
                raise
            finally:
                await _close_quietly(chunks)
            completion = final or Completion("".join(parts), 0, 0)
            answer = self._answered(exchange, prepared, limiter, completion, started)
            await self.shared.answered(config, prepared, completion.rate_limit, answer.tokens)
        await self._store(exchange, answer)

    # --- bookkeeping of one call ------------------------------------------------------------
    def _answered(
        self,
        exchange: Exchange,
        prepared: PreparedCall,
        limiter: ModelRateLimiter,
        completion: Completion,
        started: float,
    ) -> Answer:
        info = completion.rate_limit
        limiter.observe(info)
        answer = Answer(
            prepared,
            completion,
            list(exchange.trail.attempts),
            rate_limit_remaining=(
                info.remaining_requests
                if info.remaining_requests is not None
                else limiter.remaining()
            ),
            rate_limit_reset=(
                info.reset_seconds if info.reset_seconds is not None else limiter.reset_in()
            ),
        )
        stats = self.stats[prepared.model]
        stats.success(time.perf_counter() - started, answer.tokens)
        if answer.attempts:
            stats.fallbacks_to += 1
        return answer

    async def _call_failed(
        self,
        exchange: Exchange,
        prepared: PreparedCall,
        limiter: ModelRateLimiter,
        error: BaseException,
    ) -> None:
        model = prepared.model
        if isinstance(error, RateLimitError):
            limiter.block(error.retry_after)  # the server throttled us: hold the model back
            deployment = prepared.resolved.deployment
            await self.shared.throttled(exchange.config, model, deployment, error.retry_after)
        if isinstance(error, Exception):
            self.stats[model].failure(error)

    async def close(self) -> None:
        self.cache.close()
        await self.providers.close()
        await self.shared.close()


def _raise_unless_fallback_helps(error: Exception) -> None:
    """Credentials and bad requests fail the same way on every model: raise them now."""
    if isinstance(error, PromptTooLongError):
        return  # a model with a bigger window may take it
    if isinstance(error, ModelError) and error.status_code == 413:
        return  # the server's own "too long": same reasoning
    if isinstance(error, AuthenticationError) or not is_transient(error):
        raise error


def _deadline_error(seconds: float, trail: Trail) -> ModelTimeoutError:
    return ModelTimeoutError(
        f"no answer within the {seconds:g}s deadline; {trail.describe()}",
        model=trail.current.value if trail.current else None,
        hint="raise `deadline` in the config, or retry when the endpoint is less busy",
    )


async def _next_chunk(
    chunks: AsyncIterator[StreamChunk], exchange: Exchange, model: ModelType
) -> StreamChunk | None:
    # The timeout wraps only this await, never a yield: a timeout that spans a yield would
    # fire inside whatever the consumer is doing.
    try:
        async with asyncio.timeout(max(exchange.time_left(), 0.0)):
            return await anext(chunks, None)
    except TimeoutError:
        seconds = exchange.config.deadline
        raise _deadline_error(seconds, Trail(model, list(exchange.trail.attempts))) from None


async def _close_quietly(chunks: AsyncIterator[StreamChunk]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:  # the stream is being abandoned anyway
            logger.debug("error while closing a model stream", exc_info=True)
