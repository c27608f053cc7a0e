"""The pipeline with `redis_url` set, two orchestrators in one test standing in for two
processes (each has its own memory tier, limiter and breakers)."""

from __future__ import annotations

import time

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import RateLimitError
from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import ModelOrchestrator
from aurelis.testing import ModelServer, Reply


@pytest.fixture
def team_config(remote_config: AurelisConfig, redis_url: str) -> AurelisConfig:
    remote_config.update({"redis_url": redis_url})
    return remote_config


async def test_a_stream_is_answered_from_the_shared_tier(
    team_config: AurelisConfig, model_server: ModelServer
) -> None:
    first, second = ModelOrchestrator(), ModelOrchestrator()
    request = ModelRequest(prompt="explain generators", model_type=ModelType.GPT_4O_MINI)
    answer = await first.process_request(request)
    streamed = "".join([text async for text in second.stream_request(request)])
    assert streamed == answer.content
    assert len(model_server.requests) == 1
    await first.close()
    await second.close()


async def test_an_interactive_request_is_refused_at_once_when_the_shared_window_is_full(
    team_config: AurelisConfig, model_server: ModelServer
) -> None:
    team_config.update(
        {
            "rate_limits": {ModelType.GPT_4O_MINI: {"per_minute": 1}},
            "fallback_chains": {ModelType.GPT_4O_MINI: []},
            "cache_enabled": False,
        }
    )
    first, second = ModelOrchestrator(), ModelOrchestrator()
    await first.process_request(ModelRequest(prompt="q1", model_type=ModelType.GPT_4O_MINI))
    inline = ModelRequest(
        prompt="q2",
        model_type=ModelType.GPT_4O_MINI,
        metadata={"source": "lsp", "feature": "inline_completion"},
    )
    started = time.perf_counter()
    with pytest.raises(RateLimitError, match="per minute reached \\(shared\\)"):
        await second.process_request(inline)
    assert time.perf_counter() - started < 5  # refused, not queued for the 60 s window
    assert len(model_server.requests) == 1
    await first.close()
    await second.close()


async def test_a_429_one_orchestrator_met_holds_the_other_back(
    team_config: AurelisConfig, model_server: ModelServer
) -> None:
    team_config.update(
        {"max_retries": 0, "fallback_chains": {ModelType.GPT_4O_MINI: []}, "cache_enabled": False}
    )
    model_server.script("openai/gpt-4o-mini", Reply(status=429, retry_after=30))
    first, second = ModelOrchestrator(), ModelOrchestrator()
    with pytest.raises(RateLimitError):
        await first.process_request(ModelRequest(prompt="q1", model_type=ModelType.GPT_4O_MINI))
    team_config.update({"rate_limit_mode": "fail"})
    with pytest.raises(RateLimitError, match="asked to wait"):
        await second.process_request(ModelRequest(prompt="q2", model_type=ModelType.GPT_4O_MINI))
    assert len(model_server.requests) == 1
    await first.close()
    await second.close()


async def test_clearing_the_cache_empties_the_shared_tier_for_every_process(
    team_config: AurelisConfig, model_server: ModelServer
) -> None:
    first, second = ModelOrchestrator(), ModelOrchestrator()
    request = ModelRequest(prompt="explain decorators", model_type=ModelType.GPT_4O_MINI)
    await first.process_request(request)

    first.clear_cache()  # memory and the disk on this machine, as `aurelis cache clear` does
    assert await first.clear_shared_cache() == 1
    again = await second.process_request(request)

    assert not again.cached  # another machine's process would have hit the shared tier
    assert len(model_server.requests) == 2
    await first.close()
    await second.close()


async def test_clearing_without_redis_clears_nothing_shared(
    remote_config: AurelisConfig, model_server: ModelServer
) -> None:
    orchestrator = ModelOrchestrator()
    await orchestrator.process_request(ModelRequest(prompt="q", model_type=ModelType.GPT_4O_MINI))
    assert await orchestrator.clear_shared_cache() == 0
    await orchestrator.close()
