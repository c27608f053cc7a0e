"""The instruments: one tracer, one meter, and what the orchestrator and the language
server record through them. Every metric name and label is listed in docs/telemetry.md.

The providers are Aurelis's own (not OpenTelemetry's global ones), so a library user's
own OpenTelemetry set-up is left alone. Labels are bounded sets (model and task names,
outcome classes, sanitised language ids), never request content.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NoOpTracer, Span, Status, StatusCode, Tracer

from aurelis.core.config import AurelisConfig
from aurelis.models.telemetry.exporters import Exporters, build_exporters
from aurelis.models.telemetry.tallies import Tally

__all__ = ["Telemetry", "BREAKER_VALUES"]

#: Request durations: from a cache hit (well under 10 ms) to a long generation.
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60)
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}
BreakerSource = Callable[[], Iterable[tuple[str, str]]]


class Telemetry:
    """Aurelis's tracer and metric instruments, with the exporters that carry them."""

    def __init__(self, exporters: Exporters) -> None:
        resource = Resource.create({"service.name": "aurelis"})
        self._exporters = exporters
        self._tracing = TracerProvider(resource=resource)
        for processor in exporters.span_processors:
            self._tracing.add_span_processor(processor)
        self._metering = MeterProvider(resource=resource, metric_readers=exporters.readers)
        # Without a span exporter (Prometheus alone) spans would be built for no one.
        self.tracing = bool(exporters.span_processors)
        self.tracer: Tracer = self._tracing.get_tracer("aurelis") if self.tracing else NoOpTracer()
        self._breaker_sources: list[BreakerSource] = []
        self._create_instruments()

    @classmethod
    def start(cls, config: AurelisConfig) -> Telemetry:
        return cls(build_exporters(config))

    def _create_instruments(self) -> None:
        meter = self._metering.get_meter("aurelis")

        def counter(name: str, description: str) -> Tally:
            return Tally(meter, name, description)

        self.requests = counter("aurelis_requests", description="Requests answered or failed")
        self.duration = meter.create_histogram(
            "aurelis_request_duration",
            unit="s",
            description="Time from request to answer or failure",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.tokens = counter("aurelis_tokens", description="Tokens sent and received")
        self.cache_hits = counter("aurelis_cache_hits", description="Answers from the cache")
        self.fallbacks = counter("aurelis_fallbacks", description="Answers after a fallback")
        self.throttled = counter("aurelis_rate_limited", description="HTTP 429 from a model")
        self.retries = counter("aurelis_retries", description="Calls retried on one model")
        self.waits = meter.create_histogram(
            "aurelis_rate_limit_wait",
            unit="s",
            description="Time spent waiting for a rate-limit slot",
            explicit_bucket_boundaries_advisory=_WAIT_BUCKETS,
        )
        self.suggestions = counter(
            "aurelis_inline_suggestions", description="Inline suggestion events"
        )
        self.suggestion_chars = counter(
            "aurelis_inline_suggestion_chars", description="Accepted and retained characters"
        )
        meter.create_observable_gauge(
            "aurelis_breaker_state",
            callbacks=[self._observe_breakers],
            description="Circuit breaker per model: 0 closed, 1 half-open, 2 open",
        )

    # --- orchestrator -----------------------------------------------------------------------
    def request_done(
        self,
        span: Span,
        labels: Mapping[str, str],
        started: float,
        facts: Mapping[str, Any],
    ) -> None:
        """One request ended: labels are model, task, outcome; facts go on the span."""
        self.requests.add(1, labels)
        self.duration.record(time.perf_counter() - started, labels)
        for name, value in labels.items():
            span.set_attribute(f"aurelis.{name}", value)
        for name, value in facts.items():
            span.set_attribute(f"aurelis.{name}", value)
        if labels["outcome"] == "failed":
            span.set_status(Status(StatusCode.ERROR, str(facts.get("error", ""))))

    def watch_breakers(self, source: BreakerSource) -> None:
        self._breaker_sources.append(source)

    def _observe_breakers(self, options: CallbackOptions) -> Iterable[Observation]:
        for source in self._breaker_sources:
            for model, state in source():
                yield Observation(BREAKER_VALUES.get(state, 0), {"model": model})

    # --- language server --------------------------------------------------------------------
    def suggestion_counts(self, labels: Mapping[str, str], counts: Mapping[str, int]) -> None:
        """Suggestion counters (see models.suggestions.counts) as metrics."""
        for counter, amount in counts.items():
            if counter in ("offered", "shown", "accepted", "partially_accepted"):
                self.suggestions.add(amount, {**labels, "event": counter})
            elif counter == "accepted_chars":
                self.suggestion_chars.add(amount, {**labels, "kind": "accepted"})
            elif counter.startswith("retained_chars_"):
                check = counter.removeprefix("retained_chars_")
                self.suggestion_chars.add(amount, {**labels, "kind": f"retained_{check}"})

    def shutdown(self) -> None:
        """Flush what is buffered and stop the exporters."""
        self._tracing.shutdown()
        self._metering.shutdown()
        self._exporters.stop_servers()
