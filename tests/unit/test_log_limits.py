"""Log lines derived from client input are cut short and their repeats rate-limited."""

from __future__ import annotations

import io
import logging

from aurelis.core.log import log_event
from aurelis.core.log_limits import BURST, MAX_MESSAGE_CHARS, WINDOW, BoundedFilter


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _logger(clock: _Clock) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(BoundedFilter(clock))
    logger = logging.getLogger(f"test.log_limits.{id(clock)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_a_flood_of_one_template_writes_a_burst_then_says_how_many_were_held() -> None:
    clock = _Clock()
    logger, stream = _logger(clock)
    for n in range(2000):
        logger.warning("cancel for unknown id %s", n)
    assert len(stream.getvalue().splitlines()) == BURST
    clock.now += WINDOW
    logger.warning("cancel for unknown id %s", "next")
    last = stream.getvalue().splitlines()[-1]
    assert "next" in last and f"{2000 - BURST:,} similar lines held back" in last


def test_other_templates_are_not_held_back_by_a_flood() -> None:
    clock = _Clock()
    logger, stream = _logger(clock)
    for n in range(500):
        logger.warning("flood %s", n)
    logger.error("the server stopped: %s", "reason")
    assert stream.getvalue().splitlines()[-1] == "the server stopped: reason"


def test_a_huge_argument_is_cut_and_the_cut_is_said() -> None:
    logger, stream = _logger(_Clock())
    logger.warning("unknown id %r", "x" * 10_000)
    line = stream.getvalue().rstrip("\n")
    assert len(line) < MAX_MESSAGE_CHARS + 100
    assert line.endswith("more characters)")


def test_structured_events_are_a_request_log_and_never_held_back() -> None:
    # One `model_request` line per request: 200 requests in a batch are 200 lines.
    logger, stream = _logger(_Clock())
    for n in range(200):
        log_event(logger, "model_request", model="local", n=n)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 200 and lines[-1] == 'model_request {"model": "local", "n": 199}'
    log_event(logger, "model_request", prompt="x" * 10_000)
    assert stream.getvalue().rstrip("\n").endswith("more characters)")  # still cut short
