"""A duty cycle for background work: run a slice, rest in proportion, so indexing a large
repository takes a share of one core and never the whole machine from the editor."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Throttle"]


class Throttle:
    """Call `tick()` between units of work; it sleeps once a slice of work is done."""

    def __init__(
        self,
        duty: float = 0.5,
        slice_seconds: float = 0.02,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < duty <= 1:
            raise ValueError("duty must be in (0, 1]")
        self._rest_ratio = (1 - duty) / duty
        self._slice = slice_seconds
        self._sleep = sleep
        self._since = time.perf_counter()

    def tick(self) -> None:
        worked = time.perf_counter() - self._since
        if worked >= self._slice:
            if self._rest_ratio:
                self._sleep(worked * self._rest_ratio)
            self._since = time.perf_counter()
