"""The shared limiter gives back the slot of a request that never reached the endpoint:
its hit leaves the Redis windows and its lease is freed, for every process at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import RateLimitError
from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import ModelOrchestrator
from aurelis.models.ratelimit import ClientRateLimitError, RateLimiterRegistry, RateLimits
from aurelis.models.routing import resolve
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import keyspace_for
from aurelis.models.shared.ratelimit import LimitTarget, SharedRateLimiter
from aurelis.models.shared.state import keyspace_of
from aurelis.testing import ModelServer, Reply

MINI = "openai/gpt-4o-mini"


def inline(prompt: str) -> ModelRequest:
    return ModelRequest(
        prompt=prompt,
        model_type=ModelType.GPT_4O_MINI,
        metadata={"source": "lsp", "feature": "inline_completion", "cache_disabled": True},
    )


@pytest.fixture
async def other_process(redis_url: str) -> AsyncIterator[SharedRateLimiter]:
    """A limiter with its own connection and in-process state, as another process has."""
    link = SharedRedis(redis_url)
    yield SharedRateLimiter(link, RateLimiterRegistry())
    await link.close()


@pytest.fixture
def team_config(remote_config: AurelisConfig, redis_url: str) -> AurelisConfig:
    remote_config.update(
        {
            "redis_url": redis_url,
            "rate_limits": {"gpt-4o-mini": {"per_minute": 1}},
            "fallback_chains": {"gpt-4o-mini": []},
            "max_retries": 0,
            "cache_enabled": False,
        }
    )
    return remote_config


def target_of(config: AurelisConfig) -> LimitTarget:
    deployment = resolve(ModelType.GPT_4O_MINI, config).deployment
    return LimitTarget.of(keyspace_of(config), ModelType.GPT_4O_MINI, deployment, config)


async def until(condition) -> None:  # type: ignore[no-untyped-def]
    """Poll `condition` for up to 5 s."""
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never came true")


async def cancel(task: asyncio.Task[object]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_refunded_slot_leaves_the_window_and_frees_its_lease(
    other_process: SharedRateLimiter, redis_url: str, isolated_config: AurelisConfig
) -> None:
    keyspace = keyspace_for("http://127.0.0.1:9/v1", "team-token-0123456789")
    target = LimitTarget(keyspace, ModelType.GPT_4O_MINI, "gpt-4o-mini", RateLimits(1, 10, 1), 1.0)
    link = SharedRedis(redis_url)
    mine = SharedRateLimiter(link, RateLimiterRegistry())
    slot = await mine.acquire(target, isolated_config, mode="fail", max_wait=0)
    with pytest.raises(ClientRateLimitError):
        await other_process.acquire(target, isolated_config, mode="fail", max_wait=0)
    await slot.refund()
    assert await other_process.remaining(target, isolated_config) == 1
    again = await other_process.acquire(target, isolated_config, mode="fail", max_wait=0)
    await again.release()
    assert await mine.remaining(target, isolated_config) == 0  # a released slot still counts
    await link.close()


async def test_a_request_cancelled_while_connecting_holds_no_shared_slot(
    team_config: AurelisConfig, other_process: SharedRateLimiter, stalled_endpoint: str
) -> None:
    team_config.endpoint = stalled_endpoint
    target = target_of(team_config)
    orchestrator = ModelOrchestrator()
    superseded = asyncio.create_task(orchestrator.process_request(inline("old")))

    async def admitted() -> bool:
        return await other_process.remaining(target, team_config) == 0

    await until(admitted)
    await asyncio.sleep(0.2)  # connecting, never sending
    await cancel(superseded)
    assert await other_process.remaining(target, team_config) == 1
    slot = await other_process.acquire(
        target, team_config, mode="fail", max_wait=0, interactive=True
    )
    await slot.release()
    await orchestrator.close()


async def test_a_request_cancelled_after_it_was_sent_still_counts_for_everyone(
    team_config: AurelisConfig, model_server: ModelServer
) -> None:
    model_server.set_default(MINI, Reply(latency=5))
    first, second = ModelOrchestrator(), ModelOrchestrator()
    superseded = asyncio.create_task(first.process_request(inline("old")))

    async def seen() -> bool:
        return len(model_server.requests) == 1

    await until(seen)
    await cancel(superseded)
    model_server.clear_default(MINI)
    with pytest.raises(RateLimitError, match="per minute reached \\(shared\\)"):
        await second.process_request(inline("new"))
    assert len(model_server.requests) == 1
    await first.close()
    await second.close()
