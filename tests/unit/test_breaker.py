"""Circuit breakers: the state machine alone, then through the orchestrator and the server."""

from __future__ import annotations

import asyncio

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ModelError
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


async def test_half_open_sends_one_probe_while_others_fall_back(orchestrator, model_server) -> None:
    model_server.script(MINI, Reply(status=503), Reply(status=503), Reply(latency=0.3))
    for index in range(2):
        await orchestrator.process_request(ModelRequest(prompt=f"q{index}"))
    await asyncio.sleep(0.35)
    answers = await asyncio.gather(
        *(orchestrator.process_request(ModelRequest(prompt=f"p{i}")) for i in range(4))
    )
    assert len(model_server.requests_for(MINI)) == 3  # two failures, one probe
    assert sorted(a.model_used.value for a in answers) == ["gpt-4o-mini"] + ["mistral-nemo"] * 3


async def test_failed_probe_reopens_the_breaker(orchestrator, model_server) -> None:
    model_server.set_default(MINI, Reply(status=500))
    for index in range(2):
        await orchestrator.process_request(ModelRequest(prompt=f"q{index}"))
    await asyncio.sleep(0.35)
    await orchestrator.process_request(ModelRequest(prompt="probe"))
    assert len(model_server.requests_for(MINI)) == 3
    assert orchestrator.get_stats()["gpt-4o-mini"]["breaker"] == "open"


async def test_bad_requests_and_rate_limits_do_not_open_the_breaker(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.fallback_chains = {"gpt-4o-mini": []}
    model_server.script(MINI, *[Reply(status=400)] * 3, *[Reply(status=429, retry_after=0.01)] * 3)
    for index in range(6):
        with pytest.raises(Exception):  # noqa: B017 - the errors are tested elsewhere
            await orchestrator.process_request(ModelRequest(prompt=f"q{index}"))
    assert orchestrator.get_stats()["gpt-4o-mini"]["breaker"] == "closed"


async def test_when_every_model_is_open_the_request_waits_for_the_first_probe(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.update({"fallback_chains": {"gpt-4o-mini": []}, "breaker_failure_threshold": 1})
    model_server.script(MINI, Reply(status=503))
    with pytest.raises(ModelError):
        await orchestrator.process_request(ModelRequest(prompt="first"))
    answer = await orchestrator.process_request(ModelRequest(prompt="second"))
    assert answer.content == f"[{MINI}] second"  # probed after the cooldown, not failed


async def test_when_the_probe_comes_after_the_deadline_the_request_fails_at_once(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.update(
        {
            "fallback_chains": {"gpt-4o-mini": []},
            "breaker_failure_threshold": 1,
            "breaker_cooldown": 30,
            "deadline": 5,
        }
    )
    model_server.script(MINI, Reply(status=503))
    with pytest.raises(ModelError):
        await orchestrator.process_request(ModelRequest(prompt="first"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ModelError, match="circuit open"):
        await orchestrator.process_request(ModelRequest(prompt="second"))
    assert loop.time() - started < 1  # did not sleep toward a probe it could not reach
    assert len(model_server.requests) == 1
