"""Circuit breakers: the state machine alone, then end to end through the real client and server."""

from __future__ import annotations

import asyncio

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.models import ModelRequest
from aurelis.models.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from aurelis.models.orchestrator import get_model_orchestrator
from aurelis.testing import Reply

MINI = "openai/gpt-4o-mini"
NEMO = "mistral-ai/Mistral-Nemo"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: FakeClock, **policy) -> CircuitBreaker:
    defaults = dict(failure_threshold=3, failure_ratio=0.5, window=60, min_requests=10, cooldown=30)
    return CircuitBreaker(BreakerPolicy(**{**defaults, **policy}), clock=clock)


def test_opens_after_consecutive_failures() -> None:
    b = breaker(FakeClock())
    for _ in range(2):
        b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()


def test_a_success_resets_the_consecutive_count() -> None:
    b = breaker(FakeClock())
    for outcome in ("fail", "fail", "ok", "fail", "fail"):
        b.record_failure() if outcome == "fail" else b.record_success()
    assert b.state is BreakerState.CLOSED


def test_opens_on_failure_ratio_once_the_window_has_enough_requests() -> None:
    b = breaker(FakeClock(), failure_threshold=100, min_requests=4)
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.CLOSED  # 2 of 3: too few requests to judge
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.OPEN  # 3 of 5 is over the 0.5 ratio


def test_stays_closed_below_the_failure_ratio() -> None:
    b = breaker(FakeClock(), failure_threshold=100, min_requests=4)
    for outcome in ("ok", "fail", "ok", "ok", "fail", "ok", "ok", "fail"):
        b.record_failure() if outcome == "fail" else b.record_success()
    assert b.state is BreakerState.CLOSED  # 3 of 8


def test_outcomes_older_than_the_window_do_not_count() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=100, min_requests=4, window=10)
    b.record_failure()
    b.record_failure()
    clock.now = 11
    b.record_success()
    b.record_success()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.CLOSED  # 1 of the last 4 within 10 s


def test_half_open_after_cooldown_lets_exactly_one_probe_through() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=1, cooldown=30)
    b.record_failure()
    clock.now = 29.9
    assert not b.allow() and b.retry_in() == pytest.approx(0.1)
    clock.now = 30
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow() is True
    assert b.allow() is False  # the probe is out


def test_probe_success_closes_and_probe_failure_reopens() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=1, cooldown=30)
    b.record_failure()
    clock.now = 30
    assert b.allow()
    b.record_failure()
    assert b.state is BreakerState.OPEN and b.retry_in() == 30
    clock.now = 60
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.allow() and b.allow()


def test_a_probe_ending_without_verdict_frees_the_probe() -> None:
    clock = FakeClock()
    b = breaker(clock, failure_threshold=1, cooldown=1)
    b.record_failure()
    clock.now = 1
    assert b.allow()
    b.release()  # e.g. the request was cancelled
    assert b.allow()


# --- through the orchestrator ----------------------------------------------------------------
@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    remote_config.update(
        {
            "max_retries": 0,
            "breaker_failure_threshold": 2,
            "breaker_cooldown": 0.3,
            "fallback_chains": {"gpt-4o-mini": ["mistral-nemo"]},
        }
    )
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


async def test_breaker_opens_skips_the_model_and_closes_after_a_good_probe(
    orchestrator, model_server
) -> None:
    model_server.set_default(MINI, Reply(status=503))
    for index in range(2):
        answer = await orchestrator.process_request(ModelRequest(prompt=f"q{index}"))
        assert answer.content.startswith(f"[{NEMO}]")
    assert orchestrator.get_stats()["gpt-4o-mini"]["breaker"] == "open"

    skipped = await orchestrator.process_request(ModelRequest(prompt="q2"))
    assert len(model_server.requests_for(MINI)) == 2  # not called while open
    [reason] = skipped.metadata["fallback_from"]
    assert reason["model"] == "gpt-4o-mini" and "circuit open" in reason["error"]

    model_server.clear_default(MINI)
    await asyncio.sleep(0.35)
    assert orchestrator.get_stats()["gpt-4o-mini"]["breaker"] == "half_open"
    probe = await orchestrator.process_request(ModelRequest(prompt="q3"))
    assert probe.content.startswith(f"[{MINI}]") and probe.metadata["fallback_from"] == []
    assert orchestrator.get_stats()["gpt-4o-mini"]["breaker"] == "closed"


# The other orchestrator-level breaker behaviours (one probe at a time, a failed probe,
# verdicts that do not count, waiting for a probe) run on the fake provider in
# test_pipeline.py.
