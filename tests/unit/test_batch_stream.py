"""process_batch and stream_request against the loopback server."""

from __future__ import annotations

import asyncio
import time

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ModelError
from aurelis.models import ModelRequest, ModelType
from aurelis.models.batch import BatchProgress
from aurelis.models.orchestrator import get_model_orchestrator
from aurelis.testing import ModelServer, Reply

MINI = "openai/gpt-4o-mini"
NEMO = "mistral-ai/Mistral-Nemo"
CODESTRAL = "mistral-ai/Codestral-2501"


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    remote_config.update({"max_retries": 0, "fallback_chains": {"codestral-2501": []}})
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


def prompts(n: int) -> list[ModelRequest]:
    return [ModelRequest(prompt=f"item {i}") for i in range(n)]


async def wait_until(condition, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


# --- batch -------------------------------------------------------------------------------------
async def test_batch_keeps_input_order_whatever_finishes_first(
    orchestrator, model_server: ModelServer
) -> None:
    model_server.script(MINI, Reply(latency=0.3), Reply(latency=0.2), Reply(latency=0.1))
    responses = await orchestrator.process_batch(prompts(5), concurrency=5)
    assert [r.content for r in responses] == [f"[{MINI}] item {i}" for i in range(5)]


async def test_batch_runs_at_most_concurrency_requests_at_once(orchestrator, model_server) -> None:
    model_server.set_default(MINI, Reply(latency=0.1))
    await orchestrator.process_batch(prompts(9), concurrency=3)
    assert model_server.max_concurrent == 3


async def test_default_concurrency_follows_the_rate_limits(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.rate_limits = {"gpt-4o-mini": {"concurrent": 4, "per_minute": None}}
    model_server.set_default(MINI, Reply(latency=0.1))
    started = time.monotonic()
    await orchestrator.process_batch(prompts(12))
    assert model_server.max_concurrent == 4
    assert time.monotonic() - started < 0.3 * 3  # three rounds of four, not twelve in a row


async def test_duplicates_in_a_batch_share_one_call(orchestrator, model_server) -> None:
    batch = [ModelRequest(prompt=p, metadata={"n": i}) for i, p in enumerate("ABAA")]
    responses = await orchestrator.process_batch(batch, concurrency=1)
    assert len(model_server.requests) == 2
    assert [r.content for r in responses] == [f"[{MINI}] {p}" for p in "ABAA"]
    assert [r.metadata["n"] for r in responses] == [0, 1, 2, 3]  # each keeps its own metadata
    assert [bool(r.metadata.get("shared")) for r in responses] == [False, False, True, True]


async def test_progress_is_reported_once_per_item(orchestrator, model_server) -> None:
    seen: list[BatchProgress] = []

    async def on_progress(progress: BatchProgress) -> None:
        seen.append(progress)

    responses = await orchestrator.process_batch(prompts(4), on_progress=on_progress)
    assert sorted(p.index for p in seen) == [0, 1, 2, 3]
    assert [p.done for p in seen] == [1, 2, 3, 4] and {p.total for p in seen} == {4}
    assert all(p.ok and p.result is responses[p.index] for p in seen)


async def test_return_exceptions_puts_each_failure_in_its_place(orchestrator, model_server) -> None:
    model_server.set_default(CODESTRAL, Reply(status=503))
    batch = [
        ModelRequest(prompt="fine"),
        ModelRequest(prompt="doomed", model_type=ModelType.CODESTRAL_2501),
        ModelRequest(prompt="also fine"),
    ]
    seen: list[BatchProgress] = []
    results = await orchestrator.process_batch(
        batch, return_exceptions=True, on_progress=seen.append
    )
    assert results[0].content == f"[{MINI}] fine"
    assert isinstance(results[1], ModelError) and "503" in str(results[1])
    assert results[2].content == f"[{MINI}] also fine"
    assert [p.ok for p in sorted(seen, key=lambda p: p.index)] == [True, False, True]


async def test_first_failure_is_raised_after_the_others_are_cancelled(
    orchestrator, model_server
) -> None:
    model_server.set_default(MINI, Reply(latency=10))
    model_server.set_default(CODESTRAL, Reply(status=503, latency=0.1))
    batch = [*prompts(3), ModelRequest(prompt="doomed", model_type=ModelType.CODESTRAL_2501)]
    started = time.monotonic()
    with pytest.raises(ModelError, match="503"):
        await orchestrator.process_batch(batch, concurrency=4)
    assert time.monotonic() - started < 5
    # The slow calls were cancelled: their connections closed, the server is idle again.
    assert await wait_until(lambda: model_server.in_flight == 0)


async def test_bad_concurrency_is_refused(orchestrator) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        await orchestrator.process_batch(prompts(1), concurrency=0)


# --- streaming ---------------------------------------------------------------------------------
async def test_stream_yields_the_answer_and_caches_it_at_the_end(
    orchestrator, model_server
) -> None:
    model_server.script(MINI, Reply(content="def add(a, b):\n    return a + b\n", chunk_size=5))
    chunks = [c async for c in orchestrator.stream_request(ModelRequest(prompt="add"))]
    assert len(chunks) > 3 and "".join(chunks) == "def add(a, b):\n    return a + b\n"
    cached = await orchestrator.process_request(ModelRequest(prompt="add"))
    assert cached.cached is True and cached.content == "".join(chunks)
    again = [c async for c in orchestrator.stream_request(ModelRequest(prompt="add"))]
    assert "".join(again) == cached.content
    assert len(model_server.requests) == 1


async def test_stream_falls_back_before_the_first_chunk(
    orchestrator, model_server, remote_config
) -> None:
    model_server.set_default(MINI, Reply(status=503))
    text = "".join([c async for c in orchestrator.stream_request(ModelRequest(prompt="hi"))])
    assert text == f"[{NEMO}] hi"
    assert orchestrator.get_stats()["mistral-nemo"]["requests"] == 1


async def test_cancelling_a_stream_closes_the_upstream_and_caches_nothing(
    orchestrator, model_server
) -> None:
    model_server.set_default(MINI, Reply(content="x" * 400, chunk_size=4, stream_chunk_delay=0.05))
    stream = orchestrator.stream_request(ModelRequest(prompt="long"))
    received = [await anext(stream), await anext(stream)]
    assert received == ["xxxx", "xxxx"]
    await stream.aclose()  # what an editor does when the user types on
    assert await wait_until(lambda: model_server.in_flight == 0, within=2.0)  # not 5 s later
    again = await orchestrator.process_request(ModelRequest(prompt="long"))
    assert again.cached is False
    assert orchestrator.get_stats()["gpt-4o-mini"]["breaker"] == "closed"


async def test_cancelling_the_consumer_task_closes_the_upstream(orchestrator, model_server) -> None:
    model_server.set_default(MINI, Reply(content="y" * 400, chunk_size=4, stream_chunk_delay=0.05))

    async def consume() -> None:
        async for _ in orchestrator.stream_request(ModelRequest(prompt="long")):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_until(lambda: model_server.in_flight == 0, within=2.0)


async def test_a_truncated_stream_is_not_cached(orchestrator, model_server) -> None:
    model_server.script(MINI, Reply(finish_reason="length"))
    [c async for c in orchestrator.stream_request(ModelRequest(prompt="cut"))]
    assert (await orchestrator.process_request(ModelRequest(prompt="cut"))).cached is False


async def test_a_broken_stream_with_nowhere_to_fall_back_raises(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.fallback_chains = {"gpt-4o-mini": []}
    model_server.script(MINI, Reply(malformed=True))
    with pytest.raises(ModelError, match="malformed"):
        async for _ in orchestrator.stream_request(ModelRequest(prompt="broken")):
            pass
    assert orchestrator.get_stats()["gpt-4o-mini"]["failures"] == 1
