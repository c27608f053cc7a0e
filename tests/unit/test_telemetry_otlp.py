"""OTLP export: the span tree of a fallback request reaches a collector on loopback.

The receiver is a plain HTTP server in the test; what it gets is decoded with the
OpenTelemetry proto package, as a collector would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from aurelis.core.config import AurelisConfig
from aurelis.models import ModelRequest, TaskType, telemetry
from aurelis.models.orchestrator import ModelOrchestrator
from aurelis.testing import ModelServer, Reply


class Receiver(ThreadingHTTPServer):
    """Keeps the body of every POST, by path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: dict[str, list[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.setdefault(self.path, []).append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _spans(receiver: Receiver) -> list[dict]:
    spans = []
    for body in receiver.bodies.get("/v1/traces", []):
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    spans.append(
                        {
                            "name": span.name,
                            "id": span.span_id,
                            "parent": span.parent_span_id,
                            "trace": span.trace_id,
                            "attributes": attributes,
                            "error": span.status.code == 2,
                        }
                    )
    return spans


def _value(value: object) -> object:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(value, kind) if kind else None


async def test_a_fallback_request_exports_its_span_tree(
    remote_config: AurelisConfig, model_server: ModelServer, receiver: Receiver
) -> None:
    remote_config.update({"otlp_endpoint": receiver.url, "max_retries": 0})
    model_server.set_default("mistral-ai/Codestral-2501", Reply(status=503))
    model_server.set_default("*", Reply(content="def add(a, b): return a + b"))
    orchestrator = ModelOrchestrator()
    try:
        response = await orchestrator.process_request(
            ModelRequest(prompt="def add(a, b):", task_type=TaskType.CODE_COMPLETION)
        )
    finally:
        await orchestrator.close()
        telemetry.shutdown()  # flushes the batch of spans to the receiver

    spans = _spans(receiver)
    by_name: dict[str, list[dict]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    [root] = by_name["aurelis.request"]
    assert root["parent"] == b""
    assert root["attributes"]["aurelis.outcome"] == "answered"
    assert root["attributes"]["aurelis.fallback_hops"] == 1
    assert root["attributes"]["aurelis.model"] == response.model_used.value
    assert root["attributes"]["aurelis.task"] == "code_completion"
    assert {span["trace"] for span in spans} == {root["trace"]}
    [cache] = by_name["aurelis.cache"]
    assert cache["parent"] == root["id"] and cache["attributes"]["aurelis.cache.hit"] is False
    first, second = sorted(by_name["aurelis.attempt"], key=lambda s: s["attributes"]["aurelis.hop"])
    assert first["parent"] == second["parent"] == root["id"]
    assert first["attributes"]["aurelis.model"] == "codestral-2501" and first["error"]
    assert second["attributes"]["aurelis.model"] == response.model_used.value
    assert not second["error"]
    calls = {span["parent"]: span for span in by_name["aurelis.provider_call"]}
    assert set(calls) == {first["id"], second["id"]}
    assert calls[second["id"]]["attributes"]["aurelis.tokens"] > 0
    for guard in ("aurelis.breaker", "aurelis.rate_limit"):
        assert {span["parent"] for span in by_name[guard]} == {
            calls[first["id"]]["id"],
            calls[second["id"]]["id"],
        }
    text = b"".join(receiver.bodies["/v1/traces"])
    assert b"def add" not in text  # no prompt or answer text in any span


async def test_without_an_exporter_the_plain_pipeline_runs(
    remote_config: AurelisConfig, model_server: ModelServer
) -> None:
    orchestrator = ModelOrchestrator()
    try:
        assert telemetry.active() is None
        assert type(orchestrator._pipeline).__name__ == "Pipeline"
    finally:
        await orchestrator.close()


async def test_a_streamed_request_has_its_span_and_its_tokens_in_the_exported_metrics(
    remote_config: AurelisConfig, model_server: ModelServer, receiver: Receiver
) -> None:
    remote_config.update({"otlp_endpoint": receiver.url})
    model_server.set_default("*", Reply(content="streamed answer text", completion_tokens=7))
    orchestrator = ModelOrchestrator()
    try:
        request = ModelRequest(prompt="say something", task_type=TaskType.CODE_GENERATION)
        chunks = [chunk async for chunk in orchestrator.stream_request(request)]
    finally:
        await orchestrator.close()
        telemetry.shutdown()

    assert "".join(chunks) == "streamed answer text"
    [root] = [span for span in _spans(receiver) if span["name"] == "aurelis.request"]
    assert root["attributes"]["aurelis.stream"] is True
    assert root["attributes"]["aurelis.outcome"] == "answered"
    sums = _metric_sums(receiver)
    assert sums[("aurelis_tokens", "out")] == 7
    assert sums[("aurelis_requests", "answered")] == 1


def _metric_sums(receiver: Receiver) -> dict[tuple[str, str], float]:
    """Sum data points per (metric, the `direction` or `outcome` label)."""
    sums: dict[tuple[str, str], float] = {}
    for body in receiver.bodies.get("/v1/metrics", []):
        request = ExportMetricsServiceRequest.FromString(body)
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.sum.data_points:
                        labels = {a.key: a.value.string_value for a in point.attributes}
                        label = labels.get("direction") or labels.get("outcome") or ""
                        key = (metric.name, label)
                        sums[key] = sums.get(key, 0) + (point.as_int or point.as_double)
    return sums
