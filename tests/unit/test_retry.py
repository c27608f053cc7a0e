"""Retries, Retry-After and the deadline: the retry loop alone, then end to end."""

from __future__ import annotations

import time

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import (
    ModelError,
    ModelTimeoutError,
    RateLimitError,
    TransientModelError,
)
from aurelis.models import ModelRequest
from aurelis.models.orchestrator import get_model_orchestrator
from aurelis.models.retry import RetryPolicy, call_with_retries
from aurelis.testing import Reply

MINI = "openai/gpt-4o-mini"
NEMO = "mistral-ai/Mistral-Nemo"


class Script:
    """An attempt function failing with the given errors, then answering "ok"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def transient() -> TransientModelError:
    return TransientModelError("boom", model="m", status_code=503)


async def test_transient_errors_are_retried_with_growing_jittered_backoff() -> None:
    attempt, sleeps = Script(transient(), transient(), transient()), Sleeps()
    policy = RetryPolicy(max_retries=3, backoff_initial=1.0, backoff_max=100)
    assert await call_with_retries(attempt, policy, time_left=lambda: 1e9, sleep=sleeps) == "ok"
    assert attempt.calls == 4
    for wait, base in zip(sleeps.waits, (1, 2, 4), strict=True):
        assert base <= wait <= base + 1.0


async def test_at_most_max_retries() -> None:
    attempt = Script(*[transient() for _ in range(5)])
    with pytest.raises(TransientModelError):
        await call_with_retries(
            attempt, RetryPolicy(max_retries=2), time_left=lambda: 1e9, sleep=Sleeps()
        )
    assert attempt.calls == 3


async def test_non_transient_errors_are_not_retried() -> None:
    attempt = Script(ModelError("bad request", status_code=400))
    with pytest.raises(ModelError):
        await call_with_retries(attempt, RetryPolicy(), time_left=lambda: 1e9, sleep=Sleeps())
    assert attempt.calls == 1


async def test_retry_after_is_waited_exactly() -> None:
    attempt, sleeps = Script(RateLimitError("slow down", retry_after=7)), Sleeps()
    await call_with_retries(attempt, RetryPolicy(), time_left=lambda: 1e9, sleep=sleeps)
    assert sleeps.waits == [7]


async def test_retry_after_beyond_the_cap_ends_the_retries() -> None:
    attempt, sleeps = Script(RateLimitError("slow down", retry_after=90)), Sleeps()
    with pytest.raises(RateLimitError):
        await call_with_retries(
            attempt, RetryPolicy(retry_after_cap=60), time_left=lambda: 1e9, sleep=sleeps
        )
    assert sleeps.waits == [] and attempt.calls == 1


async def test_a_wait_longer_than_the_deadline_left_ends_the_retries() -> None:
    attempt, sleeps = Script(RateLimitError("slow down", retry_after=5)), Sleeps()
    with pytest.raises(RateLimitError):
        await call_with_retries(attempt, RetryPolicy(), time_left=lambda: 4.0, sleep=sleeps)
    assert sleeps.waits == [] and attempt.calls == 1


# --- end to end ------------------------------------------------------------------------------
@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    remote_config.update(
        {"retry_backoff_initial": 0.01, "fallback_chains": {"gpt-4o-mini": ["mistral-nemo"]}}
    )
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


async def test_a_transient_failure_is_retried_on_the_same_model(orchestrator, model_server) -> None:
    model_server.script(MINI, Reply(status=502), Reply(drop=True))
    response = await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert response.content == f"[{MINI}] hi"
    assert response.metadata["fallback_from"] == []
    assert len(model_server.requests_for(MINI)) == 3


async def test_after_max_retries_the_chain_moves_on(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.max_retries = 1
    model_server.set_default(MINI, Reply(status=503))
    response = await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert response.content == f"[{NEMO}] hi"
    assert len(model_server.requests_for(MINI)) == 2


async def test_retry_after_is_honoured(orchestrator, model_server) -> None:
    model_server.script(MINI, Reply(status=429, retry_after=0.5))
    response = await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert response.content == f"[{MINI}] hi"
    first, second = model_server.requests_for(MINI)
    assert second.received_at - first.received_at >= 0.45


async def test_retry_after_beyond_the_cap_falls_back_instead_of_sleeping(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.retry_after_cap = 5
    model_server.script(MINI, Reply(status=429, retry_after=30))
    started = time.monotonic()
    response = await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert response.content == f"[{NEMO}] hi"
    assert time.monotonic() - started < 5
    assert "RateLimitError" in response.metadata["fallback_from"][0]["error"]


async def test_retry_after_beyond_the_deadline_falls_back_instead_of_sleeping(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.deadline = 3
    model_server.script(MINI, Reply(status=429, retry_after=10))
    started = time.monotonic()
    response = await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert response.content == f"[{NEMO}] hi"
    assert time.monotonic() - started < 3


async def test_the_deadline_bounds_the_whole_request(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.deadline = 0.5
    model_server.set_default(MINI, Reply(status=503, latency=0.2))
    model_server.set_default(NEMO, Reply(latency=10))
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError) as raised:
        await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert time.monotonic() - started < 1.5
    message = str(raised.value)
    assert "0.5s deadline" in message and "gpt-4o-mini" in message  # what it tried first


async def test_the_deadline_covers_waiting_for_a_streams_first_chunk(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.deadline = 0.4
    model_server.set_default("*", Reply(latency=10))
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError):
        async for _ in orchestrator.stream_request(ModelRequest(prompt="hi")):
            pass
    assert time.monotonic() - started < 1.5


# A cancelled request stopping its retries: test_pipeline.py (fake provider).
