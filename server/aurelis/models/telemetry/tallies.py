"""Counters kept in a plain dict and handed to OpenTelemetry only when it collects.

An OpenTelemetry SDK counter does real work on every `add` (a measurement object, the
current context, attribute hashing, a lock): tens of microseconds a request with several
counters, on the path every request takes. A `Tally` adds to a dict entry instead and
reports the totals through an observable counter's callback, which runs when Prometheus
scrapes or the OTLP reader exports. Same name, labels and meaning; the cost moves off the
request path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Meter, Observation

__all__ = ["Tally"]

LabelKey = tuple[tuple[str, str], ...]


class Tally:
    """A monotonic counter per label set (see the module docstring)."""

    def __init__(self, meter: Meter, name: str, description: str) -> None:
        self._counts: dict[LabelKey, float] = {}
        meter.create_observable_counter(name, callbacks=[self._observe], description=description)

    def add(self, amount: float, labels: Mapping[str, str]) -> None:
        key = tuple(sorted(labels.items()))
        self._counts[key] = self._counts.get(key, 0) + amount

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        # Called on the exporter's thread: list() copies the items in one step (no
        # "changed size during iteration" while the event loop adds a new label set).
        return [Observation(total, dict(key)) for key, total in list(self._counts.items())]
