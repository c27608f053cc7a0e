"""Telemetry off costs nothing: no OpenTelemetry module is loaded by the server's start-up,
and the orchestrator loads none of ours (no tracer, exporter or scrape endpoint)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"

_PROBE = """
import sys
def loaded():
    prefixes = ("opentelemetry", "prometheus_client", "aurelis.models.telemetry.")
    return ",".join(sorted(name for name in sys.modules if name.startswith(prefixes)))
from aurelis.lsp.server import create_server
create_server()
print(loaded())
from aurelis.models.orchestrator import get_model_orchestrator
get_model_orchestrator()
print(loaded())
"""


def _loaded(extra: dict[str, str]) -> tuple[set[str], set[str]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(PYTHONPATH=str(SERVER), **extra)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    at_start, after_orchestrator = result.stdout.splitlines()
    return set(filter(None, at_start.split(","))), set(filter(None, after_orchestrator.split(",")))


def test_nothing_of_opentelemetry_loads_at_start_up_or_with_the_orchestrator_when_off() -> None:
    at_start, after_orchestrator = _loaded({})
    assert at_start == set()
    # redis-py 8 itself imports OpenTelemetry's metrics API and SDK whenever the package
    # is installed (for its own observability, which stays off); nothing else may load.
    ours = ("opentelemetry.sdk.trace", "opentelemetry.exporter", "prometheus_client")
    assert not [name for name in after_orchestrator if name.startswith(ours)]
    assert not [name for name in after_orchestrator if name.startswith("aurelis.models.telemetry.")]


def test_the_standard_otlp_variable_turns_it_on() -> None:
    _, after_orchestrator = _loaded({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    assert "opentelemetry.sdk.trace" in after_orchestrator
    assert "aurelis.models.telemetry.traced_pipeline" in after_orchestrator
