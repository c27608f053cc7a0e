"""The pipeline with spans and metrics: what the orchestrator runs when telemetry is on.

Each override wraps one layer of `Pipeline` and calls it unchanged, so the span tree
follows the layers: `aurelis.request` → `aurelis.cache` (and `aurelis.cache.lower_tiers`)
→ `aurelis.attempt` per model of the fallback chain → `aurelis.provider_call` per try →
`aurelis.breaker` and `aurelis.rate_limit` (the time spent getting the breaker's leave
and a rate-limit slot). With telemetry off the plain `Pipeline` runs and none of this is
even imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

from opentelemetry.trace import INVALID_SPAN, Span, Status, StatusCode

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import RateLimitError
from aurelis.models.breaker import CircuitBreaker
from aurelis.models.exchange import Exchange
from aurelis.models.outcome import Answer, Hit, Outcome, PreparedCall
from aurelis.models.pipeline import Guard, Pipeline, _CallOnce
from aurelis.models.providers.base import Completion
from aurelis.models.ratelimit import ModelRateLimiter
from aurelis.models.routing import primary_model
from aurelis.models.telemetry.instruments import Telemetry
from aurelis.models.types import ModelRequest, ModelType

__all__ = ["TracedPipeline"]

T = TypeVar("T")
#: A slot taken within this many seconds was free: no wait is recorded (a histogram
#: measurement per request would cost more than taking the slot).
_WAITED = 0.001
#: Reusable: entering it costs a method call and yields a span that records nothing.
_NO_SPAN = contextlib.nullcontext(INVALID_SPAN)


class TracedPipeline(Pipeline):
    """`Pipeline`, recorded (see the module docstring)."""

    def __init__(self, telemetry: Telemetry, **options: Any) -> None:
        super().__init__(**options)
        self._telemetry = telemetry
        self._tracer = telemetry.tracer
        self._tracing = telemetry.tracing
        telemetry.watch_breakers(self._breaker_states)

    def _span(self, name: str, attributes: dict[str, Any] | None = None) -> Any:
        """The span `name` as the current one; nothing at all without a span exporter
        (Prometheus alone), so metrics-only telemetry pays for no span machinery."""
        if not self._tracing:
            return _NO_SPAN
        return self._tracer.start_as_current_span(name, attributes=attributes)

    def _breaker_states(self) -> Iterable[tuple[str, str]]:
        return [(model.value, self.breakers.get(model).state.value) for model in ModelType]

    async def answer(self, request: ModelRequest, config: AurelisConfig) -> tuple[Outcome, bool]:
        started = time.perf_counter()
        task = request.task_type.value
        with self._span("aurelis.request") as span:
            try:
                outcome, shared = await super().answer(request, config)
            except BaseException as error:
                model = primary_model(request, config).value
                outcome_name = "cancelled" if _cancelled(error) else "failed"
                labels = {"model": model, "task": task, "outcome": outcome_name}
                self._telemetry.request_done(span, labels, started, {"error": _name(error)})
                raise
            self._request_answered(span, outcome, task, started)
            return outcome, shared

    def _request_answered(self, span: Span, outcome: Outcome, task: str, started: float) -> None:
        telemetry = self._telemetry
        if isinstance(outcome, Hit):
            model = outcome.entry.model_used.value
            labels = {"model": model, "task": task, "outcome": "cached"}
            facts: dict[str, Any] = {"cached": True, "tokens": outcome.entry.tokens_used}
            telemetry.request_done(span, labels, started, facts)
            return
        model = outcome.prepared.model.value
        self._answered_by(span, model, task, started, len(outcome.attempts), outcome.tokens)

    def _answered_by(
        self, span: Span, model: str, task: str, started: float, hops: int, tokens: int | None
    ) -> None:
        if hops:
            self._telemetry.fallbacks.add(1, {"model": model})
        details: dict[str, Any] = {"cached": False, "fallback_hops": hops}
        if tokens is not None:
            details["tokens"] = tokens
        labels = {"model": model, "task": task, "outcome": "answered"}
        self._telemetry.request_done(span, labels, started, details)

    async def open_stream(self, exchange: Exchange) -> AsyncGenerator[str, None]:
        """A streamed request's span and metrics end at its first chunk (the time a user
        waits to see the answer start); its tokens are counted when the stream ends."""
        started = time.perf_counter()
        task = exchange.request.task_type.value
        with self._span("aurelis.request", {"aurelis.stream": True}) as span:
            try:
                stream = await super().open_stream(exchange)
            except BaseException as error:
                outcome_name = "cancelled" if _cancelled(error) else "failed"
                labels = {"model": exchange.primary.value, "task": task, "outcome": outcome_name}
                self._telemetry.request_done(span, labels, started, {"error": _name(error)})
                raise
            model = (exchange.trail.current or exchange.primary).value
            self._answered_by(span, model, task, started, len(exchange.trail.attempts), None)
        return stream

    def _answered(
        self,
        exchange: Exchange,
        prepared: PreparedCall,
        limiter: ModelRateLimiter,
        completion: Completion,
        started: float,
    ) -> Answer:
        # Per call, not per request: requests sharing one call (single-flight) spent once.
        answer = super()._answered(exchange, prepared, limiter, completion, started)
        facts, model = answer.facts(), prepared.model.value
        tokens = self._telemetry.tokens
        tokens.add(int(facts.get("prompt_tokens") or 0), {"model": model, "direction": "in"})
        tokens.add(int(facts.get("completion_tokens") or 0), {"model": model, "direction": "out"})
        return answer

    def begin(self, request: ModelRequest, config: AurelisConfig) -> Hit | Exchange:
        with self._span("aurelis.cache") as span:
            found = super().begin(request, config)
            hit = isinstance(found, Hit)
            span.set_attribute("aurelis.cache.hit", hit)
        if isinstance(found, Hit):
            self._hit(found, "memory")
        return found

    async def lower_tiers(self, exchange: Exchange) -> Hit | None:
        with self._span("aurelis.cache.lower_tiers") as span:
            found = await super().lower_tiers(exchange)
            span.set_attribute("aurelis.cache.hit", found is not None)
        if found is not None:
            self._hit(found, "shared")
        return found

    def _hit(self, hit: Hit, tier: str) -> None:
        self._telemetry.cache_hits.add(1, {"model": hit.entry.model_used.value, "tier": tier})

    async def _answer_handling_retries(
        self,
        exchange: Exchange,
        model: ModelType,
        call_once: _CallOnce[T],
        time_left: Callable[[], float] | None = None,
    ) -> T:
        calls = 0
        retries = self._telemetry.retries

        async def counted(exchange: Exchange, prepared: PreparedCall, breaker: CircuitBreaker) -> T:
            nonlocal calls
            calls += 1
            if calls > 1:
                retries.add(1, {"model": model.value})
            return await call_once(exchange, prepared, breaker)

        attributes = {"aurelis.model": model.value, "aurelis.hop": len(exchange.trail.attempts)}
        with self._span("aurelis.attempt", attributes) as span:
            try:
                return await super()._answer_handling_retries(exchange, model, counted, time_left)
            except Exception as error:
                _failed(span, error)
                raise
            finally:
                span.set_attribute("aurelis.calls", calls)

    async def _answer_once(
        self, exchange: Exchange, prepared: PreparedCall, breaker: CircuitBreaker
    ) -> Answer:
        attributes = {
            "aurelis.model": prepared.model.value,
            "aurelis.deployment": prepared.resolved.deployment,
        }
        with self._span("aurelis.provider_call", attributes) as span:
            try:
                answer = await super()._answer_once(exchange, prepared, breaker)
            except Exception as error:
                _failed(span, error)
                raise
            span.set_attribute("aurelis.tokens", answer.tokens)
            return answer

    def _guards(
        self,
        exchange: Exchange,
        prepared: PreparedCall,
        breaker: CircuitBreaker,
        limiter: ModelRateLimiter,
    ) -> tuple[Guard, Guard]:
        probe, slot = super()._guards(exchange, prepared, breaker, limiter)
        model = prepared.model.value
        waits = self._telemetry.waits
        if self._tracing:
            probe = _Entered(probe, self._span, "aurelis.breaker", model, None)
        return probe, _Entered(slot, self._span, "aurelis.rate_limit", model, waits.record)

    async def _call_failed(
        self,
        exchange: Exchange,
        prepared: PreparedCall,
        limiter: ModelRateLimiter,
        error: BaseException,
    ) -> None:
        if isinstance(error, RateLimitError):
            self._telemetry.throttled.add(1, {"model": prepared.model.value})
        await super()._call_failed(exchange, prepared, limiter, error)


class _Entered:
    """A guard whose entry (the wait for leave or for a slot) is a span of its own."""

    def __init__(
        self,
        guard: Guard,
        span: Callable[[str], Any],
        name: str,
        model: str,
        record: Callable[[float, dict[str, str]], None] | None,
    ) -> None:
        self._guard, self._span, self._name = guard, span, name
        self._model, self._record = model, record

    async def __aenter__(self) -> Any:
        started = time.perf_counter()
        with self._span(self._name) as span:
            span.set_attribute("aurelis.model", self._model)
            try:
                return await self._guard.__aenter__()
            except Exception as error:
                _failed(span, error)
                raise
            finally:
                waited = time.perf_counter() - started
                if self._record is not None and waited >= _WAITED:
                    self._record(waited, {"model": self._model})

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> bool | None:
        return await self._guard.__aexit__(kind, error, trace)


def _failed(span: Span, error: BaseException) -> None:
    span.set_status(Status(StatusCode.ERROR, _name(error)))
    span.set_attribute("aurelis.error", _name(error))


def _name(error: BaseException) -> str:
    return type(error).__name__


def _cancelled(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)
