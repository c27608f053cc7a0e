"""The exporters: Prometheus scrape endpoint on 127.0.0.1 and OTLP over HTTP.

Prometheus gets a registry of its own (not prometheus_client's global one), served by
prometheus_client's server bound to the loopback address only. OTLP exporters read the
standard `OTEL_EXPORTER_OTLP_*` variables themselves; `otlp_endpoint` (a trusted setting)
supplies the base URL when the variables do not.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from aurelis.core.config import AurelisConfig

__all__ = ["Exporters", "build_exporters"]

logger = logging.getLogger("aurelis.models.telemetry")
LOOPBACK = "127.0.0.1"


@dataclass
class Exporters:
    """What `Telemetry` hands its providers, and what it stops at shutdown."""

    readers: list[MetricReader] = field(default_factory=list)
    span_processors: list[SpanProcessor] = field(default_factory=list)
    servers: list[Any] = field(default_factory=list)  # prometheus_client's WSGI servers

    def stop_servers(self) -> None:
        for server in self.servers:
            threading.Thread(target=server.shutdown, daemon=True).start()
            server.server_close()


def build_exporters(config: AurelisConfig) -> Exporters:
    exporters = Exporters()
    if config.metrics_port is not None:
        _add_prometheus(exporters, config.metrics_port)
    if _otlp_wanted(config):
        _add_otlp(exporters, config.otlp_endpoint)
    return exporters


def _add_prometheus(exporters: Exporters, port: int) -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=True)
    try:
        server, _thread = start_http_server(port, addr=LOOPBACK, registry=registry)
    except OSError as error:
        # A busy port must not stop the server: the metrics are simply not served.
        logger.warning("metrics not served on %s:%d: %s", LOOPBACK, port, error.strerror)
        return
    exporters.readers.append(PrometheusMetricReader(registry=registry))
    exporters.servers.append(server)
    logger.info("metrics served on http://%s:%d/metrics", LOOPBACK, port)


def _otlp_wanted(config: AurelisConfig) -> bool:
    from aurelis.models.telemetry import OTLP_VARIABLES

    return bool(config.otlp_endpoint) or any(os.environ.get(name) for name in OTLP_VARIABLES)


def _add_otlp(exporters: Exporters, endpoint: str | None) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = endpoint.rstrip("/") if endpoint else None
    traces = _signal_url(base, "traces")
    metrics = _signal_url(base, "metrics")
    exporters.span_processors.append(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    exporters.readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=metrics)))


def _signal_url(base: str | None, signal: str) -> str | None:
    """The signal's URL from `otlp_endpoint`, unless the variables say (None: they do)."""
    if base is None or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"):
        return None
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    return f"{base}/v1/{signal}"
