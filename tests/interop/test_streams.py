"""Chat and streamed answers from the real llama-cpp-python server."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest
from tests.interop.llama_server import ALIAS, LlamaServer

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import TransientModelError
from aurelis.models import ModelOrchestrator, ModelRequest, ModelType, TaskType
from aurelis.models.providers.azure_inference import AzureInferenceProvider
from aurelis.models.providers.base import ProviderCall

#: A system prompt that makes the small base model ramble until max_tokens.
RAMBLE = [
    {"role": "system", "content": "You are a coding assistant."},
    {"role": "user", "content": "Complete this Python function:\ndef add(a, b):"},
]


def point_at(config: AurelisConfig, server: LlamaServer, **extra: object) -> AurelisConfig:
    """Every remote model served by `server` under its alias, as a user would set it up."""
    remote = [model for model in ModelType if model is not ModelType.LOCAL]
    config.update(
        {
            "provider": "azure",
            "endpoint": server.url,
            "deployments": {model: ALIAS for model in remote},
            "local_fallback": False,
            "cache_enabled": False,
            **extra,
        }
    )
    return config


@pytest.fixture
async def orchestrator(isolated_config: AurelisConfig) -> AsyncIterator[ModelOrchestrator]:
    orchestrator = ModelOrchestrator()
    yield orchestrator
    await orchestrator.close()


def provider_for(server: LlamaServer, timeout: float = 60.0) -> AzureInferenceProvider:
    return AzureInferenceProvider(
        server.url, None, token_source=None, connect_timeout=5, read_timeout=timeout
    )


def ramble_call(max_tokens: int, timeout: float = 60.0) -> ProviderCall:
    return ProviderCall(
        model="codestral-2501",
        deployment=ALIAS,
        messages=RAMBLE,
        temperature=0.1,
        max_tokens=max_tokens,
        timeout=timeout,
        request=ModelRequest(prompt="def add(a, b):"),
        prompt_budget=1000,
    )


async def test_chat_answer_comes_from_the_server(
    llama_server: LlamaServer, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    point_at(isolated_config, llama_server)
    response = await orchestrator.process_request(
        ModelRequest(prompt="def add(a, b):", task_type=TaskType.CODE_GENERATION, max_tokens=16)
    )
    assert response.model_used is ModelType.CODESTRAL_2501
    assert response.metadata is not None and response.metadata["fallback_from"] == []
    assert response.metadata["deployment"] == ALIAS
    assert response.tokens_used > 0


async def test_streamed_answer_arrives_in_chunks(
    llama_server: LlamaServer, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    point_at(isolated_config, llama_server)
    request = ModelRequest(
        prompt="Complete this Python function:\ndef add(a, b):",
        task_type=TaskType.CODE_GENERATION,
        max_tokens=24,
    )
    chunks = [text async for text in orchestrator.stream_request(request)]
    assert len([text for text in chunks if text]) > 1
    assert "".join(chunks).strip()


async def test_a_stream_outlasting_a_keep_alive_comment_completes(
    llama_server: LlamaServer, caplog: pytest.LogCaptureFixture
) -> None:
    """sse-starlette sends `: ping` after 15 s of a response; the SDK's parser died on it.

    A first streamed request holds the server's only model slot; ours waits behind it with
    its response already open, so the keep-alive arrives before its first token.
    """
    blocker = await asyncio.to_thread(_open_long_stream, llama_server)
    provider = provider_for(llama_server)
    caplog.set_level(logging.DEBUG, logger="aurelis.models.stream")
    try:
        started = time.monotonic()
        stream = provider.stream(ramble_call(max_tokens=12))
        waiting = asyncio.ensure_future(_collect(stream))
        await asyncio.sleep(16.5)  # one keep-alive interval (15 s) and a margin
        blocker.close()  # the server stops the blocker at its next token
        chunks = await asyncio.wait_for(waiting, timeout=90)
    finally:
        blocker.close()
        await provider.close()
    assert time.monotonic() - started > 15
    assert "".join(chunk.text for chunk in chunks)
    final = chunks[-1].final
    assert final is not None and final.finish_reason in ("length", "stop")
    assert any("SSE comment" in record.getMessage() for record in caplog.records)


async def test_a_server_killed_mid_stream_is_reported_as_a_cut_connection(
    start_llama_server, capfd: pytest.CaptureFixture[str]
) -> None:
    server = start_llama_server()
    provider = provider_for(server)
    received = 0
    try:
        with pytest.raises(TransientModelError) as raised:
            async for chunk in provider.stream(ramble_call(max_tokens=400)):
                received += bool(chunk.text)
                if received == 3:
                    server.kill()
    finally:
        await provider.close()
    message = str(raised.value)
    assert "closed after" in message and "chunks" in message, message
    assert "malformed" not in message and "IncompleteRead" not in message
    assert "Incomplete download" not in capfd.readouterr().err


async def _collect(stream: AsyncIterator) -> list:  # type: ignore[type-arg]
    return [chunk async for chunk in stream]


class _Blocker:
    def __init__(
        self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse
    ) -> None:
        self._connection, self._response = connection, response

    def close(self) -> None:
        self._response.close()
        self._connection.close()


def _open_long_stream(server: LlamaServer) -> _Blocker:
    """A streamed request that would run for minutes; returns once its first token is in."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    body = {"model": ALIAS, "messages": RAMBLE, "max_tokens": 3000, "stream": True}
    connection.request(
        "POST",
        "/v1/chat/completions",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    response = connection.getresponse()
    assert response.status == 200
    while b"data:" not in response.readline():
        pass
    return _Blocker(connection, response)


async def test_concurrent_answers_from_a_server_with_default_settings_are_whole(
    start_llama_server, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    """By default llama-cpp-python ends a stream with [DONE] when another request arrives;
    a whole answer must not come back cut short because of that."""
    server = start_llama_server()  # --interrupt_requests left at its default (true)
    point_at(isolated_config, server)

    def request(n: int) -> ModelRequest:
        return ModelRequest(
            prompt=f"Complete this Python function:\ndef add_{n}(a, b):",
            system_prompt="You are a coding assistant.",
            task_type=TaskType.CODE_GENERATION,
            max_tokens=40,
        )

    responses = await asyncio.gather(*(orchestrator.process_request(request(n)) for n in (1, 2)))
    for response in responses:
        assert response.model_used is ModelType.CODESTRAL_2501
        assert response.metadata is not None
        assert response.metadata["finish_reason"] in ("length", "stop"), response.metadata
