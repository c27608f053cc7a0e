"""A request that never reaches the endpoint holds no rate-limit slot.

Through the orchestrator and the real azure-ai-inference client: an endpoint that never
completes a TCP connect stands for "cancelled before the request went out", the loopback
model server for "sent, then cancelled".
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
from tests.conftest import TEST_TOKEN

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import RateLimitError
from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import ModelOrchestrator, get_model_orchestrator
from aurelis.models.providers import sending
from aurelis.models.providers.base import FimPrompt, ProviderCall
from aurelis.models.providers.fim import FimProvider
from aurelis.testing import ModelServer, Reply

MINI = "openai/gpt-4o-mini"


def inline(prompt: str) -> ModelRequest:
    """An interactive inline request: never queues behind the limiter."""
    return ModelRequest(
        prompt=prompt,
        model_type=ModelType.GPT_4O_MINI,
        metadata={"source": "lsp", "feature": "inline_completion", "cache_disabled": True},
    )


@pytest.fixture
def refused_endpoint() -> str:
    """A port nobody listens on: the connect is refused, nothing is sent."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig) -> AsyncIterator[ModelOrchestrator]:
    remote_config.update(
        {
            "rate_limits": {"gpt-4o-mini": {"per_minute": 1}},
            "fallback_chains": {"gpt-4o-mini": []},
            "max_retries": 0,
            "cache_enabled": False,
        }
    )
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


def remaining(orchestrator: ModelOrchestrator, config: AurelisConfig) -> int | None:
    return orchestrator.limiters.get(ModelType.GPT_4O_MINI, config).remaining()


async def until(condition) -> None:  # type: ignore[no-untyped-def]
    """Poll `condition` for up to 5 s."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never came true")


async def cancel(task: asyncio.Task[object]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_request_cancelled_while_connecting_gives_its_slot_back(
    orchestrator: ModelOrchestrator,
    remote_config: AurelisConfig,
    model_server: ModelServer,
    stalled_endpoint: str,
) -> None:
    remote_config.endpoint = stalled_endpoint
    superseded = asyncio.create_task(orchestrator.process_request(inline("old")))
    await until(lambda: remaining(orchestrator, remote_config) == 0)  # admitted, connecting
    await asyncio.sleep(0.2)
    await cancel(superseded)
    assert remaining(orchestrator, remote_config) == 1

    remote_config.endpoint = model_server.url
    answer = await orchestrator.process_request(inline("new"))
    assert answer.content == f"[{MINI}] new"  # not refused: the window held no stale hit
    assert answer.metadata is not None
    assert answer.metadata["rate_limit_remaining"] == 0


async def test_a_stream_cancelled_while_connecting_gives_its_slot_back(
    orchestrator: ModelOrchestrator, remote_config: AurelisConfig, stalled_endpoint: str
) -> None:
    remote_config.endpoint = stalled_endpoint

    async def consume() -> str:
        return "".join([text async for text in orchestrator.stream_request(inline("old"))])

    superseded = asyncio.create_task(consume())
    await until(lambda: remaining(orchestrator, remote_config) == 0)
    await asyncio.sleep(0.2)
    await cancel(superseded)
    assert remaining(orchestrator, remote_config) == 1


async def test_a_refused_connection_gives_its_slot_back(
    orchestrator: ModelOrchestrator, remote_config: AurelisConfig, refused_endpoint: str
) -> None:
    remote_config.endpoint = refused_endpoint
    with pytest.raises(Exception, match="connection to"):
        await orchestrator.process_request(inline("never sent"))
    assert remaining(orchestrator, remote_config) == 1


async def test_a_request_cancelled_after_it_was_sent_still_counts(
    orchestrator: ModelOrchestrator, remote_config: AurelisConfig, model_server: ModelServer
) -> None:
    model_server.set_default(MINI, Reply(latency=5))
    superseded = asyncio.create_task(orchestrator.process_request(inline("old")))
    await until(lambda: len(model_server.requests) == 1)  # the server has seen it
    await cancel(superseded)
    assert remaining(orchestrator, remote_config) == 0

    model_server.clear_default(MINI)
    with pytest.raises(RateLimitError, match="client-side rate limit"):
        await orchestrator.process_request(inline("new"))
    assert len(model_server.requests) == 1


async def test_a_request_answered_with_an_error_still_counts(
    orchestrator: ModelOrchestrator, remote_config: AurelisConfig, model_server: ModelServer
) -> None:
    model_server.script(MINI, Reply(status=500))
    with pytest.raises(Exception, match="500"):
        await orchestrator.process_request(inline("sent and failed"))
    assert remaining(orchestrator, remote_config) == 0


async def fim_call_sent(endpoint: str) -> tuple[bool, bool]:
    """(the provider said it reports, the request went out) for one FIM call, cut at 0.3 s."""
    provider = FimProvider(
        endpoint,
        TEST_TOKEN,
        dialects={"gpt-4o-mini": "openai"},
        connect_timeout=5,
        read_timeout=5,
    )
    call = ProviderCall(
        model="gpt-4o-mini",
        deployment=MINI,
        messages=[],
        temperature=0.0,
        max_tokens=8,
        timeout=5,
        request=ModelRequest(prompt="def f("),
        prompt_budget=100,
        fim=FimPrompt("def f(", ")\n"),
    )
    watched, token = sending.watch()
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.3):
                await provider.complete(call)
    finally:
        sending.unwatch(token)
        await provider.close()
    return watched.reporting, watched.sent


async def test_the_fim_provider_reports_whether_its_request_went_out(
    model_server: ModelServer, stalled_endpoint: str
) -> None:
    assert await fim_call_sent(stalled_endpoint) == (True, False)
    assert await fim_call_sent(model_server.url) == (True, True)
    assert len(model_server.requests) == 1
