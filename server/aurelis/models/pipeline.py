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
from typing import Protocol, TypeVar

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
from aurelis.models.cache import ResponseCache, cache_key
from aurelis.models.fallback import Trail, chain_failure, fallback_chain
from aurelis.models.outcome import Answer, Hit, Outcome, PreparedCall
from aurelis.models.prompts import build_messages
from aurelis.models.providers.base import Completion, ProviderCall, StreamChunk
from aurelis.models.providers.registry import ProviderFactory, ProviderRegistry
from aurelis.models.ratelimit import ModelRateLimiter, RateLimiterRegistry
from aurelis.models.retry import RetryPolicy, call_with_retries
from aurelis.models.routing import ResolvedModel, input_budget, primary_model, resolve
from aurelis.models.singleflight import SingleFlight
from aurelis.models.stats import StatsRegistry
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["Exchange", "Lookup", "Pipeline", "prepare_call", "request_key"]

logger = logging.getLogger("aurelis.models")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Lookup:
    """What the cache layer needs: the request's primary model, resolved, and its key."""

    __slots__ = ("request", "config", "primary", "resolved", "key")

    def __init__(self, request: ModelRequest, config: AurelisConfig) -> None:
        self.request, self.config = request, config
        self.primary = primary_model(request, config)
        self.resolved = resolve(self.primary, config)
        self.key = request_key(request, self.resolved, config)


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
    )

    def __init__(self, lookup: Lookup, clock: Clock) -> None:
        self.request, self.config = lookup.request, lookup.config
        self.primary, self.resolved, self.key = lookup.primary, lookup.resolved, lookup.key
        self._clock = clock
        self.deadline_at = clock() + lookup.config.deadline
        self.trail = Trail()

    def time_left(self) -> float:
        """Seconds until the deadline (negative once it has passed)."""
        return self.deadline_at - self._clock()

    def resolve(self, model: ModelType) -> ResolvedModel:
        return self.resolved if model is self.primary else resolve(model, self.config)


def request_key(
    request: ModelRequest, resolved: ResolvedModel, config: AurelisConfig
) -> str | None:
    """The cache and single-flight key; None when the request opts out of the cache."""
    metadata = request.metadata
    if metadata and metadata.get("cache_disabled"):
        return None
    _, output_tokens = input_budget(resolved, request.max_tokens)
    model_file = str(config.local_model_path or "") if resolved.model is ModelType.LOCAL else ""
    return cache_key(request, resolved, output_tokens, model_file=model_file)


def prepare_call(exchange: Exchange, model: ModelType) -> PreparedCall:
    """The request made concrete for `model`: prompt fitted to its window, call ready."""
    request, config = exchange.request, exchange.config
    resolved = exchange.resolve(model)
    budget, output_tokens = input_budget(resolved, request.max_tokens)
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
    )
    return PreparedCall(resolved, prompt, call)


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
        self._flights: SingleFlight[Answer] = SingleFlight()

    # --- cache ------------------------------------------------------------------------------
    def begin(self, request: ModelRequest, config: AurelisConfig) -> Hit | Exchange:
        """A cache hit, or else the exchange that will answer the request."""
        lookup = Lookup(request, config)
        hit = self._cached(lookup.key, config)
        return hit if hit is not None else Exchange(lookup, self.clock)

    async def answer(self, request: ModelRequest, config: AurelisConfig) -> tuple[Outcome, bool]:
        """(outcome, shared): shared when an identical request's call answered it."""
        exchange = self.begin(request, config)
        if isinstance(exchange, Hit):
            return exchange, False
        if exchange.key is None:
            return await self._answer_and_store(exchange), False
        return await self._flights.do(exchange.key, lambda: self._answer_and_store(exchange))

    def _cached(self, key: str | None, config: AurelisConfig) -> Hit | None:
        if key is None or not config.cache_enabled:
            return None
        entry = self.cache.get(key, config)
        if entry is None:
            return None
        self.stats[entry.model_used].cache_hits += 1
        return Hit(entry)

    async def _answer_and_store(self, exchange: Exchange) -> Answer:
        answer = await self._answer_handling_fallback(exchange, self._answer_once)
        self._store(exchange, answer)
        return answer

    def _store(self, exchange: Exchange, answer: Answer) -> None:
        if exchange.key is not None and exchange.config.cache_enabled and answer.cacheable:
            self.cache.put(exchange.key, answer.entry(), exchange.config)

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
        trail = exchange.trail
        while True:
            for model in chain:
                trail.start(model)
                try:
                    return await self._answer_handling_retries(exchange, model, call_once)
                except Exception as error:  # noqa: BLE001 - sorted out right here
                    _raise_unless_fallback_helps(error)
                    trail.failed(model, error)
            if not await self._await_probe(chain, exchange):
                raise chain_failure(trail.attempts)
            trail.attempts.clear()

    async def _await_probe(self, chain: list[ModelType], exchange: Exchange) -> bool:
        # Failing at once because every model is cooling down would turn a short outage
        # into errors for everyone; when the first probe is due before the deadline, wait.
        attempts = exchange.trail.attempts
        if not attempts or not all(isinstance(a.error, CircuitOpenError) for a in attempts):
            return False
        config = exchange.config
        wait = min(self.breakers.get(model, config).retry_in() for model in chain)
        if wait >= exchange.time_left():
            return False
        await self.sleep(wait)
        return True

    # --- retries ----------------------------------------------------------------------------
    async def _answer_handling_retries(
        self, exchange: Exchange, model: ModelType, call_once: _CallOnce[T]
    ) -> T:
        """One model of the chain: skipped while its breaker is open, else retried calls."""
        config = exchange.config
        breaker = self.breakers.get(model, config)
        if not breaker.would_allow():
            raise CircuitOpenError(model.value, breaker.retry_in())
        prepared = prepare_call(exchange, model)
        trail = exchange.trail

        async def attempt() -> T:
            try:
                return await call_once(exchange, prepared, breaker)
            except Exception as error:
                trail.retrying = error
                raise

        return await call_with_retries(
            attempt,
            RetryPolicy.from_config(config),
            time_left=exchange.time_left,
            can_retry=lambda: breaker.state is not BreakerState.OPEN,
            sleep=self.sleep,
        )

    # --- one call ---------------------------------------------------------------------------
    async def _answer_once(
        self, exchange: Exchange, prepared: PreparedCall, breaker: CircuitBreaker
    ) -> Answer:
        """One call to one model, holding its breaker probe and a rate-limit slot."""
        model, config = prepared.model, exchange.config
        limiter = self.limiters.get(model, config)
        async with (
            breaker.probe(model.value),
            limiter.slot(model.value, mode=config.rate_limit_mode, max_wait=exchange.time_left()),
        ):
            started = time.perf_counter()
            provider = self.providers.provider_for(model, config)
            try:
                completion = await provider.complete(prepared.call)
            except BaseException as error:
                self._call_failed(model, limiter, error)
                raise
            return self._answered(exchange, prepared, limiter, completion, started)

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
        async with (
            breaker.probe(model.value),
            limiter.slot(model.value, mode=config.rate_limit_mode, max_wait=exchange.time_left()),
        ):
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
                self._call_failed(model, limiter, error)
                raise
            finally:
                await _close_quietly(chunks)
            completion = final or Completion("".join(parts), 0, 0)
            answer = self._answered(exchange, prepared, limiter, completion, started)
        self._store(exchange, answer)

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

    def _call_failed(
        self, model: ModelType, limiter: ModelRateLimiter, error: BaseException
    ) -> None:
        if isinstance(error, RateLimitError):
            limiter.block(error.retry_after)  # the server throttled us: hold the model back
        if isinstance(error, Exception):
            self.stats[model].failure(error)

    async def close(self) -> None:
        self.cache.close()
        await self.providers.close()


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
