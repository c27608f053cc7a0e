"""A frozen or busy real server: the local model answers in time, abandoned work stops."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from tests.interop.llama_server import ALIAS, LlamaServer

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ModelTimeoutError
from aurelis.models import ModelOrchestrator, ModelRequest, ModelType, TaskType

pytestmark = pytest.mark.timeout(300)

RAMBLE_SYSTEM = "You are a coding assistant."


@pytest.fixture
async def orchestrator(isolated_config: AurelisConfig) -> AsyncIterator[ModelOrchestrator]:
    orchestrator = ModelOrchestrator()
    yield orchestrator
    await orchestrator.close()


def use(config: AurelisConfig, server: LlamaServer, **extra: object) -> None:
    config.update(
        {
            "provider": "azure",
            "endpoint": server.url,
            "deployments": {ModelType.CODESTRAL_2501: ALIAS},
            "fallback_chains": {ModelType.CODESTRAL_2501: []},
            "cache_enabled": False,
            **extra,
        }
    )


async def test_a_frozen_server_fails_over_to_local_within_the_deadline(
    start_llama_server, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    server = start_llama_server()
    deadline = 40.0
    use(isolated_config, server, deadline=deadline, local_reserve=20.0, local_warmup_after=0.5)
    server.freeze()  # SIGSTOP: connections are accepted by the kernel, nothing answers
    started = time.monotonic()
    response = await orchestrator.process_request(
        ModelRequest(prompt="def add(a, b):", task_type=TaskType.CODE_GENERATION, max_tokens=8)
    )
    elapsed = time.monotonic() - started
    assert response.model_used is ModelType.LOCAL
    assert elapsed < deadline
    assert response.metadata is not None
    [failed] = response.metadata["fallback_from"]
    assert failed["model"] == "codestral-2501"
    assert "kept for the local model" in failed["error"]


async def test_a_killed_server_fails_over_to_local(
    start_llama_server, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    server = start_llama_server()
    use(isolated_config, server, max_retries=0)
    server.kill()
    response = await orchestrator.process_request(
        ModelRequest(prompt="def add(a, b):", task_type=TaskType.CODE_GENERATION, max_tokens=8)
    )
    assert response.model_used is ModelType.LOCAL
    assert response.metadata is not None
    [failed] = response.metadata["fallback_from"]
    assert "connection" in failed["error"] and server.url.split("/v1")[0] in failed["error"]


async def test_a_request_that_timed_out_stops_generating_upstream(
    llama_server: LlamaServer, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    """llama-cpp-python runs a non-streamed request to its end after the client left;
    Aurelis streams internally and closes the stream, so the server stops at once."""
    use(
        isolated_config,
        llama_server,
        request_timeout=3.0,
        max_retries=0,
        local_fallback=False,
    )
    before = llama_server.log().count("Disconnected from client")
    request = ModelRequest(
        prompt="Complete this Python function:\ndef add(a, b):",
        system_prompt=RAMBLE_SYSTEM,
        task_type=TaskType.CODE_GENERATION,
        max_tokens=2000,  # minutes of generation on a CPU
    )
    with pytest.raises(Exception) as raised:
        await orchestrator.process_request(request)
    assert isinstance(raised.value, ModelTimeoutError) or "did not answer" in str(raised.value)
    stopped = False
    for _ in range(50):
        if llama_server.log().count("Disconnected from client") > before:
            stopped = True
            break
        await asyncio.sleep(0.2)
    assert stopped, llama_server.log()[-1500:]
    # The next request is not stuck behind the abandoned 2000-token generation.
    isolated_config.request_timeout = 60.0
    started = time.monotonic()
    response = await orchestrator.process_request(
        ModelRequest(prompt="def sub(a, b):", task_type=TaskType.CODE_GENERATION, max_tokens=4)
    )
    assert response.model_used is ModelType.CODESTRAL_2501
    assert time.monotonic() - started < 30
