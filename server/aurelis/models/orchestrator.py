"""The model orchestrator's public face: one request in, one answer out, whatever the
endpoints do.

process_request routes the task to a model, answers from the cache when it can, otherwise
walks the model's fallback chain — breaker, rate limiter, provider call with retries —
within the request's deadline (all in `aurelis.models.pipeline`), then describes what
happened in the response metadata, the per-model stats and one log line.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, overload

from aurelis.core.config import AurelisConfig, get_config
from aurelis.core.log import log_event
from aurelis.models import telemetry
from aurelis.models.batch import ProgressCallback, run_batch
from aurelis.models.breaker import BreakerState
from aurelis.models.exchange import Lookup
from aurelis.models.outcome import Hit, Outcome
from aurelis.models.pipeline import Pipeline
from aurelis.models.providers.registry import ProviderFactory
from aurelis.models.ratelimit import RateLimits
from aurelis.models.routing import primary_model
from aurelis.models.types import ModelRequest, ModelResponse, ModelType

__all__ = ["ModelOrchestrator", "get_model_orchestrator", "reset_model_orchestrator"]

logger = logging.getLogger("aurelis.models")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Batch concurrency when no model in the batch has a concurrency limit.
_UNLIMITED_BATCH_CONCURRENCY = 8
_MAX_BATCH_CONCURRENCY = 64


class ModelOrchestrator:
    """Routes requests to models. Reads `get_config()` on every request, so changes apply live.

    `providers` maps a provider kind ("remote", "local") to a factory taking the live
    config (see `aurelis.models.providers.registry`); kinds left out get the default (the
    azure-ai-inference client, the embedded local model). `clock` and `sleep` drive the
    breakers, rate limiters and retries (tests may pass their own); they default to
    `time.monotonic` and `asyncio.sleep`.
    """

    def __init__(
        self,
        config: AurelisConfig | None = None,
        *,
        providers: Mapping[str, ProviderFactory] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._config = config
        self._pipeline = _pipeline(config or get_config(), providers, clock, sleep)
        self.providers = self._pipeline.providers
        self.cache = self._pipeline.cache
        self.breakers = self._pipeline.breakers
        self.limiters = self._pipeline.limiters
        self.stats = self._pipeline.stats

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
            outcome, shared = await self._pipeline.answer(request, config)
        except BaseException as error:
            _log_failure(request, config, started, error)
            raise
        return outcome, shared, started

    async def stream_request(
        self, request: ModelRequest, *, on_model: Callable[[ModelType], object] | None = None
    ) -> AsyncIterator[str]:
        """Yield the answer as text chunks as the model produces them.

        Breaker, rate limiter, retries and fallback act before the first chunk; once text
        has been yielded the model is committed. The full answer is cached at the end;
        closing the iterator early closes the upstream stream and caches nothing.
        `on_model`, if given, is told the model that answers (a fallback's, a cache entry's)
        before the first chunk.
        """
        tell = on_model or (lambda _model: None)
        exchange = self._pipeline.begin(request, self.config)
        if isinstance(exchange, Hit):
            tell(exchange.entry.model_used)
            yield exchange.entry.content
            return
        hit = await self._pipeline.lower_tiers(exchange)  # with Redis: shared tier, disk
        if hit is not None:
            tell(hit.entry.model_used)
            yield hit.entry.content
            return
        stream = await self._pipeline.open_stream(exchange)
        tell(exchange.trail.current or exchange.primary)
        try:
            async for text in stream:
                yield text
        finally:
            # Close the inner generator now (not when it is collected), so cancelling the
            # stream closes the upstream connection at once.
            await stream.aclose()

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

    async def clear_shared_cache(self) -> int:
        """Empty the team's Redis cache tier for this endpoint and token (`redis_url`);
        returns how many entries went (0 when nothing is shared or Redis is away)."""
        return await self._pipeline.shared.clear_cache(self.config)

    async def close(self) -> None:
        """Release HTTP clients, the local model and the persistent cache."""
        await self._pipeline.close()

    # --- batch --------------------------------------------------------------------------------
    def _batch_key(self, request: ModelRequest, config: AurelisConfig) -> str | None:
        try:
            return Lookup(request, config).key
        except Exception:  # noqa: BLE001 - such a request fails on its own when answered
            return None

    def _batch_concurrency(self, requests: Sequence[ModelRequest], config: AurelisConfig) -> int:
        models = {primary_model(request, config) for request in requests}
        total = 0
        for model in models:
            concurrent = RateLimits.for_model(model, config).concurrent
            total += concurrent if concurrent is not None else _UNLIMITED_BATCH_CONCURRENCY
        return max(1, min(total, _MAX_BATCH_CONCURRENCY))


def _pipeline(
    config: AurelisConfig,
    providers: Mapping[str, ProviderFactory] | None,
    clock: Clock,
    sleep: Sleep,
) -> Pipeline:
    """The plain pipeline, or the recorded one when an exporter is configured (decided
    once: with telemetry off not one instruction per request is spent on it)."""
    recorder = telemetry.install(config)
    if recorder is None:
        return Pipeline(providers=providers, clock=clock, sleep=sleep)
    from aurelis.models.telemetry.traced_pipeline import TracedPipeline

    return TracedPipeline(recorder, providers=providers, clock=clock, sleep=sleep)


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
