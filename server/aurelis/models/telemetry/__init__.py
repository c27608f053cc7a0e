"""OpenTelemetry metrics and traces, off unless an exporter is configured.

This module is the switch, and it imports nothing of OpenTelemetry: with telemetry off
(the default) a process loads no OpenTelemetry code and the orchestrator runs the plain
pipeline, so off costs nothing. `install` turns it on when `metrics_port` (Prometheus on
127.0.0.1) or an OTLP endpoint (`otlp_endpoint`, or the standard `OTEL_EXPORTER_OTLP_*`
variables) is set; callers then reach the instruments through `active()`.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Types only: the language server imports this switch before it loads its settings.
    from aurelis.core.config import AurelisConfig
    from aurelis.models.telemetry.instruments import Telemetry

__all__ = ["OTLP_VARIABLES", "active", "install", "shutdown", "wanted"]

#: The standard variables that point OTLP at a collector (read from the environment only).
OTLP_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
)

_active: Telemetry | None = None
_lock = threading.Lock()


def wanted(config: AurelisConfig) -> bool:
    """Whether an exporter is configured (nothing is recorded for no one)."""
    if config.metrics_port is not None or config.otlp_endpoint:
        return True
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in OTLP_VARIABLES)


def active() -> Telemetry | None:
    """The instruments when telemetry is on, else None (one global read: cheap)."""
    return _active


def install(config: AurelisConfig) -> Telemetry | None:
    """Start the exporters the config asks for, once per process; None when off."""
    global _active
    if _active is not None or not wanted(config):
        return _active
    with _lock:
        if _active is None:
            from aurelis.models.telemetry.instruments import Telemetry

            _active = Telemetry.start(config)
            atexit.register(shutdown)  # flush spans and stop the scrape endpoint at exit
    return _active


def shutdown() -> None:
    """Flush and stop the exporters (the process is ending, or a test is done)."""
    global _active
    with _lock:
        current, _active = _active, None
    if current is not None:
        current.shutdown()
