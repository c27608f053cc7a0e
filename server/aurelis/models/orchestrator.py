"""The model orchestrator: one request in, one answer out, whatever the endpoints do.

process_request: route the task to a model, answer from the cache when it can, otherwise
walk the model's fallback chain — breaker, rate limiter, provider call with retries — within
the request's deadline, then cache the answer and describe what happened in the response
metadata, the per-model stats and one log line.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar, overload

from aurelis.core.config import AurelisConfig, get_config
from aurelis.core.exceptions import (
    AuthenticationError,
    ModelError,
    ModelTimeoutError,
    PromptTooLongError,
    RateLimitError,
    is_transient,
)
from aurelis.core.log import log_event
from aurelis.models.batch import ProgressCallback, run_batch
from aurelis.models.breaker import BreakerRegistry, BreakerState, CircuitBreaker, CircuitOpenError
from aurelis.models.cache import ResponseCache, cache_key
from aurelis.models.fallback import Attempt, Trail, chain_failure, fallback_chain
from aurelis.models.outcome import Answer, Deadline, Hit, OpenStream, Outcome, Plan
from aurelis.models.prompts import build_messages
from aurelis.models.providers.base import Completion, ProviderCall, StreamChunk
from aurelis.models.providers.registry import ProviderRegistry
from aurelis.models.ratelimit import RateLimiterRegistry, RateLimits, Slot
from aurelis.models.retry import RetryPolicy, call_with_retries
from aurelis.models.routing import input_budget, primary_model, resolve
from aurelis.models.singleflight import SingleFlight
from aurelis.models.stats import StatsRegistry
from aurelis.models.types import ModelRequest, ModelResponse, ModelType

__all__ = ["ModelOrchestrator", "get_model_orchestrator", "reset_model_orchestrator"]

logger = logging.getLogger("aurelis.models")

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Batch concurrency when no model in the batch has a concurrency limit.
_UNLIMITED_BATCH_CONCURRENCY = 8
_MAX_BATCH_CONCURRENCY = 64


class ModelOrchestrator:
    """Routes requests to models. Reads `get_config()` on every request, so changes apply live.

    `clock` and `sleep` drive the breakers, rate limiters and retries (tests may pass
    their own); they default to `time.monotonic` and `asyncio.sleep`.
    """

    def __init__(
        self,
        config: AurelisConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._config = config
        self._clock, self._sleep = clock, sleep
        self.providers = ProviderRegistry()
        self.cache = ResponseCache(clock=clock)
        self.breakers = BreakerRegistry(clock=clock)
        self.limiters = RateLimiterRegistry(clock=clock, sleep=sleep)
        self.stats = StatsRegistry()
        self._flights: SingleFlight[Answer] = SingleFlight()

    @property
    def config(self) -> AurelisConfig:
        return self._config if self._config is not None else get_config()

    # --- public API -----------------------------------------------------------------------
    async def process_request(self, request: ModelRequest) -> ModelResponse:
        """Answer one request (see docs/orchestrator-api.md)."""
        outcome, shared, started = await self._logged_outcome(request, self.config)
        response = outcome.response(request, started, shared)
        _log_success(request, response)
        return response

    async def _logged_outcome(
        self, request: ModelRequest, config: AurelisConfig
    ) -> tuple[Outcome, bool, float]:
        """(outcome, shared, start time); a failure is logged before it propagates."""
        started = time.perf_counter()
        try:
            outcome, shared = await self._outcome(request, config)
        except BaseException as error:
            _log_failure(request, config, started, error)
            raise
        return outcome, shared, started

    async def stream_request(self, request: ModelRequest) -> AsyncIterator[str]:
        """Yield the answer as text chunks as the model produces them.

        Breaker, rate limiter, retries and fallback act before the first chunk; once text
        has been yielded the model is committed. The full answer is cached at the end;
        closing the iterator early closes the upstream stream and caches nothing.
        """
        config = self.config
        primary = primary_model(request, config)
        key = self._key(request, primary, config)
        hit = self._cached(key, config)
        if hit is not None:
            yield hit.entry.content
            return
        deadline = Deadline(config.deadline, self._clock)
        trail = Trail()
        try:
            async with asyncio.timeout(config.deadline):
                opened = await self._walk_chain(
                    request, primary, config, deadline, trail, self._open_stream
                )
        except TimeoutError:
            raise _deadline_error(config.deadline, trail) from None
        relay = self._relay(opened, config, deadline, key)
        try:
            async for text in relay:
                yield text
        finally:
            # Close the inner generator now (not when it is collected), so cancelling the
            # stream closes the upstream connection at once.
            await relay.aclose()

    @overload
    async def process_batch(
        self,
        requests: Sequence[ModelRequest],
        *,
        concurrency: int | None = None,
        return_exceptions: Literal[False] = False,
        on_progress: ProgressCallback | None = None,
    ) -> list[ModelResponse]: ...

    @overload
    async def process_batch(
        self,
        requests: Sequence[ModelRequest],
        *,
        concurrency: int | None = None,
        return_exceptions: bool,
        on_progress: ProgressCallback | None = None,
    ) -> list[ModelResponse | BaseException]: ...

    async def process_batch(
        self,
        requests: Sequence[ModelRequest],
        *,
        concurrency: int | None = None,
        return_exceptions: bool = False,
        on_progress: ProgressCallback | None = None,
    ) -> list[ModelResponse] | list[ModelResponse | BaseException]:
        """Answer several requests; results keep the input order.

        At most `concurrency` requests run at once (default: what the rate limits of the
        models involved allow). Identical requests share one call. `on_progress` gets a
        BatchProgress (sync or async callback) as each item finishes. With
        `return_exceptions=True` a failed item yields its exception in its place;
        otherwise the first failure is raised after the other requests are cancelled.
        """
        config = self.config
        limit = (
            concurrency if concurrency is not None else self._batch_concurrency(requests, config)
        )
        if limit < 1:
            raise ValueError(f"concurrency must be >= 1, got {limit}")

        async def answer(request: ModelRequest) -> tuple[Outcome, ModelRequest, float]:
            outcome, _, started = await self._logged_outcome(request, config)
            return outcome, request, started

        def respond(
            result: tuple[Outcome, ModelRequest, float], request: ModelRequest
        ) -> ModelResponse:
            outcome, first, started = result
            response = outcome.response(request, started, shared=first is not request)
            _log_success(request, response)
            return response

        results = await run_batch(
            requests,
            answer,
            key=lambda request: self._batch_key(request, config),
            concurrency=limit,
            return_exceptions=return_exceptions,
            on_progress=on_progress,
            finish=respond,
        )
        return results

    def get_stats(self) -> dict[str, dict[str, Any]]:
        """Per model (ModelType value): requests, failures, cache_hits, tokens,
        latency_p50_ms, latency_p95_ms, breaker, rate_limit_remaining."""
        config = self.config
        report: dict[str, dict[str, Any]] = {}
        for model, stats in self.stats.items():
            report[model.value] = {
                **stats.snapshot(),
                "breaker": self.breakers.get(model, config).state.value,
                "rate_limit_remaining": self.limiters.get(model, config).remaining(),
            }
        return report

    def health(self) -> dict[str, dict[str, Any]]:
        """Per model: healthy (usable now: enabled and breaker not open), breaker state,
        seconds until the next probe, rate_limit_remaining and last_error."""
        config = self.config
        report: dict[str, dict[str, Any]] = {}
        for model, stats in self.stats.items():
            breaker = self.breakers.get(model, config)
            state = breaker.state
            enabled = model is ModelType.LOCAL or config.remote_enabled
            report[model.value] = {
                "healthy": enabled and state is not BreakerState.OPEN,
                "enabled": enabled,
                "breaker": state.value,
                "retry_in": round(breaker.retry_in(), 3),
                "rate_limit_remaining": self.limiters.get(model, config).remaining(),
                "last_error": stats.last_error,
            }
        return report

    def cache_stats(self) -> dict[str, Any]:
        """size, max_size, ttl, hits, misses, enabled, persistent (file path or None)."""
        return self.cache.stats(self.config)

    def clear_cache(self) -> int:
        """Empty the response cache (memory and disk); returns how many entries went."""
        return self.cache.clear(self.config)

    async def close(self) -> None:
        """Release HTTP clients, the local model and the persistent cache."""
        self.cache.close()
        await self.providers.close()

    # --- the request path -----------------------------------------------------------------
    async def _outcome(self, request: ModelRequest, config: AurelisConfig) -> tuple[Outcome, bool]:
        primary = primary_model(request, config)
        key = self._key(request, primary, config)
        hit = self._cached(key, config)
        if hit is not None:
            return hit, False
        if key is None:
            return await self._answer(request, primary, config, None), False
        return await self._flights.do(key, lambda: self._answer(request, primary, config, key))

    def _key(self, request: ModelRequest, model: ModelType, config: AurelisConfig) -> str | None:
        """The cache and single-flight key; None when the request opts out of the cache."""
        metadata = request.metadata
        if metadata and metadata.get("cache_disabled"):
            return None
        resolved = resolve(model, config)
        _, output_tokens = input_budget(resolved, request.max_tokens)
        model_file = str(config.local_model_path or "") if model is ModelType.LOCAL else ""
        return cache_key(request, resolved, output_tokens, model_file=model_file)

    def _cached(self, key: str | None, config: AurelisConfig) -> Hit | None:
        if key is None or not config.cache_enabled:
            return None
        entry = self.cache.get(key, config)
        if entry is None:
            return None
        self.stats[entry.model_used].cache_hits += 1
        return Hit(entry)

    async def _answer(
        self, request: ModelRequest, primary: ModelType, config: AurelisConfig, key: str | None
    ) -> Answer:
        deadline = Deadline(config.deadline, self._clock)
        trail = Trail()
        try:
            async with asyncio.timeout(config.deadline):
                answer = await self._walk_chain(
                    request, primary, config, deadline, trail, self._complete
                )
        except TimeoutError:
            raise _deadline_error(config.deadline, trail) from None
        if key is not None and config.cache_enabled and answer.cacheable:
            self.cache.put(key, answer.entry(), config)
        return answer

    async def _walk_chain(
        self,
        request: ModelRequest,
        primary: ModelType,
        config: AurelisConfig,
        deadline: Deadline,
        trail: Trail,
        link: _Link[T],
    ) -> T:
        """Try each model of the chain until one answers; raise what the user must know.

        `trail` records the links that failed (the caller reports them on a timeout).
        """
        chain = fallback_chain(primary, config)
        while True:
            for model in chain:
                trail.start(model)
                try:
                    return await self._try(request, model, config, deadline, trail, link)
                except Exception as error:  # noqa: BLE001 - sorted out right here
                    _raise_unless_fallback_helps(error)
                    trail.failed(model, error)
            if not await self._await_probe(chain, trail.attempts, deadline, config):
                raise chain_failure(trail.attempts)
            trail.attempts.clear()

    async def _await_probe(
        self,
        chain: list[ModelType],
        attempts: list[Attempt],
        deadline: Deadline,
        config: AurelisConfig,
    ) -> bool:
        # Failing at once because every model is cooling down would turn a short outage
        # into errors for everyone; when the first probe is due before the deadline, wait.
        if not attempts or not all(isinstance(a.error, CircuitOpenError) for a in attempts):
            return False
        wait = min(self.breakers.get(model, config).retry_in() for model in chain)
        if wait >= deadline.left():
            return False
        await self._sleep(wait)
        return True

    async def _try(
        self,
        request: ModelRequest,
        model: ModelType,
        config: AurelisConfig,
        deadline: Deadline,
        trail: Trail,
        link: _Link[T],
    ) -> T:
        breaker = self.breakers.get(model, config)
        if not breaker.allow():
            raise CircuitOpenError(model.value, breaker.retry_in())
        try:
            plan = self._plan(request, model, config)
        except BaseException:
            breaker.release()
            raise
        first = [True]

        async def attempt() -> T:
            if not first[0] and not breaker.allow():
                raise CircuitOpenError(model.value, breaker.retry_in())
            first[0] = False
            try:
                return await link(plan, config, deadline, breaker, list(trail.attempts))
            except Exception as error:
                trail.retrying = error
                raise

        return await call_with_retries(
            attempt,
            RetryPolicy.from_config(config),
            time_left=deadline.left,
            can_retry=lambda: breaker.state is not BreakerState.OPEN,
            sleep=self._sleep,
        )

    async def _admit(
        self, plan: Plan, config: AurelisConfig, deadline: Deadline, breaker: CircuitBreaker
    ) -> Slot:
        limiter = self.limiters.get(plan.model, config)
        try:
            return await limiter.acquire(
                plan.model.value, mode=config.rate_limit_mode, max_wait=deadline.left()
            )
        except BaseException:
            breaker.release()
            raise

    async def _complete(
        self,
        plan: Plan,
        config: AurelisConfig,
        deadline: Deadline,
        breaker: CircuitBreaker,
        attempts: list[Attempt],
    ) -> Answer:
        """One call to one model (a link of the chain, run under retries)."""
        slot = await self._admit(plan, config, deadline, breaker)
        started = time.perf_counter()
        try:
            completion = await self.providers.provider_for(plan.model, config).complete(plan.call)
        except BaseException as error:
            self._failed(plan.model, breaker, error)
            raise
        finally:
            slot.release()
        answer = Answer(plan, completion, attempts)
        self._succeeded(plan.model, breaker, completion, time.perf_counter() - started, answer)
        return answer

    def _succeeded(
        self,
        model: ModelType,
        breaker: CircuitBreaker,
        completion: Completion,
        seconds: float,
        answer: Answer,
    ) -> None:
        breaker.record_success()
        limiter = self.limiters.get(model, self.config)
        limiter.observe(completion.rate_limit)
        stats = self.stats[model]
        stats.success(seconds, answer.tokens)
        if answer.attempts:
            stats.fallbacks_to += 1
        info = completion.rate_limit
        answer.rate_limit_remaining = (
            info.remaining_requests if info.remaining_requests is not None else limiter.remaining()
        )
        answer.rate_limit_reset = (
            info.reset_seconds if info.reset_seconds is not None else limiter.reset_in()
        )

    def _failed(self, model: ModelType, breaker: CircuitBreaker, error: BaseException) -> None:
        if isinstance(error, RateLimitError):
            # The server throttled us: hold the model back, but it is not unhealthy.
            self.limiters.get(model, self.config).block(error.retry_after)
            breaker.release()
        elif is_transient(error):
            breaker.record_failure()
        else:
            breaker.release()  # cancelled, or a verdict on the request, not on the model
        if isinstance(error, Exception):
            self.stats[model].failure(error)

    def _plan(self, request: ModelRequest, model: ModelType, config: AurelisConfig) -> Plan:
        resolved = resolve(model, config)
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
        return Plan(resolved, prompt, call)

    # --- streaming --------------------------------------------------------------------------
    async def _open_stream(
        self,
        plan: Plan,
        config: AurelisConfig,
        deadline: Deadline,
        breaker: CircuitBreaker,
        attempts: list[Attempt],
    ) -> OpenStream:
        """Start a stream and wait for its first chunk: errors before it may fall back."""
        slot = await self._admit(plan, config, deadline, breaker)
        started = time.perf_counter()
        chunks = self.providers.provider_for(plan.model, config).stream(plan.call)
        try:
            first = await anext(chunks, None)
        except BaseException as error:
            self._failed(plan.model, breaker, error)
            await _close_quietly(chunks)
            slot.release()
            raise
        return OpenStream(plan, chunks, first, slot, breaker, attempts, started)

    async def _relay(
        self, opened: OpenStream, config: AurelisConfig, deadline: Deadline, key: str | None
    ) -> AsyncGenerator[str, None]:
        parts: list[str] = []
        final: Completion | None = None
        chunk = opened.first
        try:
            while chunk is not None:
                final = chunk.final or final
                if chunk.text:
                    parts.append(chunk.text)
                    yield chunk.text
                chunk = await _next_chunk(opened, deadline, config.deadline)
        except BaseException as error:
            self._failed(opened.plan.model, opened.breaker, error)
            raise
        finally:
            await _close_quietly(opened.chunks)
            opened.slot.release()
        completion = final or Completion("".join(parts), 0, 0)
        answer = Answer(opened.plan, completion, opened.attempts)
        self._succeeded(
            opened.plan.model,
            opened.breaker,
            completion,
            time.perf_counter() - opened.opened_at,
            answer,
        )
        if key is not None and config.cache_enabled and answer.cacheable:
            self.cache.put(key, answer.entry(), config)

    # --- batch --------------------------------------------------------------------------------
    def _batch_key(self, request: ModelRequest, config: AurelisConfig) -> str | None:
        try:
            return self._key(request, primary_model(request, config), config)
        except Exception:  # noqa: BLE001 - such a request fails on its own when answered
            return None

    def _batch_concurrency(self, requests: Sequence[ModelRequest], config: AurelisConfig) -> int:
        models = {primary_model(request, config) for request in requests}
        total = 0
        for model in models:
            concurrent = RateLimits.for_model(model, config).concurrent
            total += concurrent if concurrent is not None else _UNLIMITED_BATCH_CONCURRENCY
        return max(1, min(total, _MAX_BATCH_CONCURRENCY))


class _Link(Protocol[T_co]):
    """One call to one model of the chain: `_complete` or `_open_stream`."""

    def __call__(
        self,
        plan: Plan,
        config: AurelisConfig,
        deadline: Deadline,
        breaker: CircuitBreaker,
        attempts: list[Attempt],
    ) -> Awaitable[T_co]: ...


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


async def _next_chunk(opened: OpenStream, deadline: Deadline, seconds: float) -> StreamChunk | None:
    # The timeout wraps only this await, never a yield: a timeout that spans a yield would
    # fire inside whatever the consumer is doing.
    try:
        async with asyncio.timeout(max(deadline.left(), 0.0)):
            return await anext(opened.chunks, None)
    except TimeoutError:
        raise _deadline_error(seconds, Trail(opened.plan.model, opened.attempts)) from None


async def _close_quietly(chunks: AsyncIterator[StreamChunk]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:  # noqa: BLE001 - the stream is being abandoned anyway
            logger.debug("error while closing a model stream", exc_info=True)


def _log_success(request: ModelRequest, response: ModelResponse) -> None:
    log_event(
        logger,
        "model_request",
        model=response.model_used.value,
        task=request.task_type.value,
        tokens=response.tokens_used,
        ms=round(response.processing_time * 1000, 2),
        cached=response.cached,
        metadata=request.metadata or {},
    )


def _log_failure(
    request: ModelRequest, config: AurelisConfig, started: float, error: BaseException
) -> None:
    # Editors cancel stale requests all the time: that is routine, not a warning.
    cancelled = isinstance(error, asyncio.CancelledError)
    log_event(
        logger,
        "model_request_cancelled" if cancelled else "model_request_failed",
        logging.DEBUG if cancelled else logging.WARNING,
        model=primary_model(request, config).value,
        task=request.task_type.value,
        ms=round((time.perf_counter() - started) * 1000, 2),
        error=type(error).__name__,
        reason=str(error),
        metadata=request.metadata or {},
    )


_orchestrator: ModelOrchestrator | None = None
_orchestrator_lock = threading.Lock()


def get_model_orchestrator() -> ModelOrchestrator:
    """The process-wide orchestrator (created on first use)."""
    global _orchestrator
    if _orchestrator is None:
        with _orchestrator_lock:
            if _orchestrator is None:
                _orchestrator = ModelOrchestrator()
    return _orchestrator


def reset_model_orchestrator() -> None:
    """Forget the process-wide orchestrator (tests; the caller closes the old one)."""
    global _orchestrator
    with _orchestrator_lock:
        _orchestrator = None
