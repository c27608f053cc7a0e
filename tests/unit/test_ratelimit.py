"""Client-side rate limits: the limiter alone on a fake clock, then against a server that
enforces real (time-scaled) limits."""

from __future__ import annotations

import asyncio
import time

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import RateLimitError
from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import get_model_orchestrator
from aurelis.models.providers.base import RateLimitInfo
from aurelis.models.ratelimit import ClientRateLimitError, ModelRateLimiter, RateLimits
from aurelis.testing import Reply

MINI = "openai/gpt-4o-mini"
NEMO = "mistral-ai/Mistral-Nemo"


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def limiter(fake: FakeTime, per_minute=3, per_day=None, concurrent=None) -> ModelRateLimiter:
    return ModelRateLimiter(
        RateLimits(per_minute, per_day, concurrent), clock=fake, sleep=fake.sleep
    )


async def admit(lim: ModelRateLimiter, mode="wait", max_wait=1e9) -> None:
    slot = await lim.acquire("m", mode=mode, max_wait=max_wait)
    slot.release()


async def test_the_window_is_sliding_not_a_bucket() -> None:
    fake = FakeTime()
    lim = limiter(fake, per_minute=3)
    for _ in range(3):
        await admit(lim)
    assert fake.sleeps == []  # a full window's worth goes at once
    await admit(lim)
    assert fake.now == pytest.approx(60.0)  # the 4th waits for the 1st to leave the window
    fake.now = 61
    assert lim.remaining() == 2  # the 2nd and 3rd left at 60 too; only the 4th counts


async def test_a_request_counts_from_when_its_answer_arrived() -> None:
    fake = FakeTime()
    lim = limiter(fake, per_minute=1)
    slot = await lim.acquire("m", mode="wait", max_wait=1e9)
    fake.now = 5  # the server may have counted it any time until its answer came back
    slot.release()
    await admit(lim)
    assert fake.now == pytest.approx(65.0)


async def test_fail_mode_raises_instead_of_waiting() -> None:
    fake = FakeTime()
    lim = limiter(fake, per_minute=1)
    await admit(lim)
    with pytest.raises(ClientRateLimitError) as raised:
        await admit(lim, mode="fail")
    assert raised.value.retry_after == pytest.approx(60.0)
    assert isinstance(raised.value, RateLimitError) and fake.sleeps == []


async def test_a_wait_beyond_max_wait_raises_without_sleeping() -> None:
    fake = FakeTime()
    lim = limiter(fake, per_minute=1)
    await admit(lim)
    with pytest.raises(ClientRateLimitError, match="1 requests per minute"):
        await admit(lim, max_wait=10)
    assert fake.sleeps == []


async def test_server_remaining_header_lowers_what_is_left() -> None:
    fake = FakeTime()
    lim = limiter(fake, per_minute=15)
    await admit(lim)
    lim.observe(RateLimitInfo(remaining_requests=2, reset_seconds=30))
    assert lim.remaining() == 2
    fake.now = 31  # the server's window said it resets after 30 s
    assert lim.remaining() == 14


async def test_a_429_blocks_the_model_for_its_retry_after() -> None:
    fake = FakeTime()
    lim = limiter(fake, per_minute=15)
    lim.block(12)
    assert lim.remaining() == 0
    await admit(lim)
    assert fake.now == pytest.approx(12.0)


def test_tier_limits_apply_and_config_overrides_them() -> None:
    config = AurelisConfig(rate_limits={"gpt-4o": {"per_minute": 3, "per_day": None}})
    assert RateLimits.for_model(ModelType.GPT_4O, config) == RateLimits(3, None, 2)
    assert RateLimits.for_model(ModelType.GPT_4O_MINI, config) == RateLimits(15, 150, 5)
    assert RateLimits.for_model(ModelType.LOCAL, config) == RateLimits(None, None, 1)


# --- against the loopback server ---------------------------------------------------------------
SCALE = 2 / 60  # "a minute" lasts 2 s on both sides


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    remote_config.update(
        {"fallback_chains": {"gpt-4o-mini": ["mistral-nemo"]}, "retry_backoff_initial": 0.01}
    )
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


async def test_a_burst_of_40_is_spread_out_instead_of_answered_with_429s(
    orchestrator, model_server, remote_config
) -> None:
    model_server.rate_window_scale = SCALE
    model_server.enforce_rate_limit("*", per_minute=15, per_day=150, concurrent=5)
    remote_config.rate_limit_window_scale = SCALE  # the low tier: 15/min, 150/day, 5 at once
    started = time.monotonic()
    answers = await asyncio.gather(
        *(orchestrator.process_request(ModelRequest(prompt=f"q{i}")) for i in range(40))
    )
    assert model_server.status_counts[429] == 0
    assert [a.content for a in answers] == [f"[{MINI}] q{i}" for i in range(40)]
    assert time.monotonic() - started >= 2 * 2  # three windows' worth: it had to wait twice


async def test_concurrency_limit_is_respected(orchestrator, model_server, remote_config) -> None:
    remote_config.rate_limits = {"gpt-4o-mini": {"concurrent": 2}}
    model_server.set_default(MINI, Reply(latency=0.15))
    await asyncio.gather(
        *(orchestrator.process_request(ModelRequest(prompt=f"q{i}")) for i in range(6))
    )
    assert model_server.max_concurrent == 2


async def test_server_headers_update_the_limiter_and_the_metadata(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.update({"rate_limit_mode": "fail", "fallback_chains": {"gpt-4o-mini": []}})
    model_server.script(
        MINI,
        Reply(headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "42"}),
    )
    first = await orchestrator.process_request(ModelRequest(prompt="one"))
    assert first.metadata["rate_limit_remaining"] == 0
    assert first.metadata["rate_limit_reset"] == 42
    with pytest.raises(RateLimitError) as raised:
        await orchestrator.process_request(ModelRequest(prompt="two"))
    assert raised.value.retry_after == pytest.approx(42, abs=1)
    assert len(model_server.requests) == 1  # failed fast, on our side
    assert orchestrator.get_stats()["gpt-4o-mini"]["rate_limit_remaining"] == 0


async def test_metadata_reports_our_own_count_when_the_server_says_nothing(orchestrator) -> None:
    answer = await orchestrator.process_request(ModelRequest(prompt="one"))
    assert answer.metadata["rate_limit_remaining"] == 14  # the low tier allows 15 a minute
    assert 0 < answer.metadata["rate_limit_reset"] <= 60


async def test_a_429_holds_the_next_request_back(orchestrator, model_server, remote_config) -> None:
    remote_config.update({"max_retries": 0, "fallback_chains": {"gpt-4o-mini": []}})
    model_server.script(MINI, Reply(status=429, retry_after=0.5))
    with pytest.raises(RateLimitError):
        await orchestrator.process_request(ModelRequest(prompt="one"))
    await orchestrator.process_request(ModelRequest(prompt="two"))
    first, second = model_server.requests
    assert second.received_at - first.received_at >= 0.45


async def test_a_limit_that_would_outlast_the_deadline_falls_back(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.update({"deadline": 3, "rate_limits": {"gpt-4o-mini": {"per_minute": 1}}})
    await orchestrator.process_request(ModelRequest(prompt="a"))
    started = time.monotonic()
    second = await orchestrator.process_request(ModelRequest(prompt="b"))
    assert second.content == f"[{NEMO}] b"
    assert time.monotonic() - started < 2
    assert "ClientRateLimitError" in second.metadata["fallback_from"][0]["error"]
