"""Fill-in-the-middle request shapes against the loopback model server, one per dialect,
and the orchestrator path: a model with an `inline_fim` dialect gets FIM, its fallback
gets the chat prompt."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import AuthenticationError
from aurelis.models import ModelOrchestrator, ModelRequest, ModelType, TaskType
from aurelis.models.providers.base import FimPrompt, ProviderCall
from aurelis.models.providers.fim import FimDialect, FimProvider
from aurelis.testing import ModelServer, Reply

TOKEN = "fim-test-token-0123456789"


@pytest.fixture
async def server() -> AsyncIterator[ModelServer]:
    async with ModelServer(token=TOKEN) as running:
        yield running


def fim_call(model: str = "codestral-2501") -> ProviderCall:
    request = ModelRequest(prompt="def add(a, b):\n    return ", task_type=TaskType.CODE_COMPLETION)
    return ProviderCall(
        model=model,
        deployment="codestral-latest",
        messages=[],
        temperature=0.1,
        max_tokens=32,
        timeout=10,
        request=request,
        prompt_budget=1000,
        fim=FimPrompt("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"),
    )


def provider(server: ModelServer, dialect: FimDialect, token: str = TOKEN) -> FimProvider:
    return FimProvider(
        server.url,
        token,
        dialects={"codestral-2501": dialect},
        connect_timeout=5,
        read_timeout=10,
    )


@pytest.mark.parametrize(
    ("dialect", "path", "prefix_key", "suffix_key"),
    [
        ("openai", "/v1/completions", "prompt", "suffix"),
        ("llama_cpp", "/infill", "input_prefix", "input_suffix"),
        ("mistral", "/v1/fim/completions", "prompt", "suffix"),
    ],
)
async def test_each_dialect_sends_prefix_and_suffix_on_its_route(
    server: ModelServer, dialect: FimDialect, path: str, prefix_key: str, suffix_key: str
) -> None:
    server.set_default("*", Reply(content="a + b"))
    fim = provider(server, dialect)
    try:
        completion = await fim.complete(fim_call())
    finally:
        await fim.close()

    [sent] = server.requests
    assert sent.path == path
    assert sent.body[prefix_key] == "def add(a, b):\n    return "
    assert sent.body[suffix_key] == "\n\nprint(add(1, 2))\n"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert completion.content == "a + b"
    assert completion.completion_tokens > 0 and completion.prompt_tokens > 0
    assert completion.extra == {"fim": dialect}


async def test_a_rejected_token_is_an_authentication_error(server: ModelServer) -> None:
    fim = provider(server, "openai", token="wrong-token-0123456789")
    try:
        with pytest.raises(AuthenticationError):
            await fim.complete(fim_call())
    finally:
        await fim.close()


async def test_a_chat_call_is_refused_not_guessed(server: ModelServer) -> None:
    fim = provider(server, "openai")
    chat = ProviderCall(**{**fim_call().__dict__, "fim": None})
    try:
        with pytest.raises(Exception, match="fill-in-the-middle"):
            await fim.complete(chat)
    finally:
        await fim.close()
    assert server.requests == []


def config_for(server: ModelServer, **extra: object) -> AurelisConfig:
    config = AurelisConfig.defaults()
    config.update(
        {
            "provider": "azure",
            "endpoint": server.url,
            "token": TOKEN,
            "local_fallback": False,
            "cache_enabled": False,
            "max_retries": 0,
            **extra,
        }
    )
    return config


def inline_request() -> ModelRequest:
    return ModelRequest(
        prompt="Complete the code at <|CURSOR|> ...\ndef add(a, b):\n    return <|CURSOR|>\n",
        task_type=TaskType.CODE_COMPLETION,
        metadata={
            "feature": "inline_completion",
            "fim": {"prefix": "def add(a, b):\n    return ", "suffix": "\n"},
        },
    )


async def test_the_orchestrator_sends_fim_to_a_model_with_a_dialect(server: ModelServer) -> None:
    server.set_default("*", Reply(content="a + b"))
    config = config_for(server, inline_fim={"codestral-2501": "mistral"})
    orchestrator = ModelOrchestrator(config)
    try:
        response = await orchestrator.process_request(inline_request())
    finally:
        await orchestrator.close()

    assert response.content == "a + b"
    assert response.model_used is ModelType.CODESTRAL_2501
    assert [request.path for request in server.requests] == ["/v1/fim/completions"]


async def test_a_fallback_without_a_dialect_gets_the_chat_prompt(server: ModelServer) -> None:
    server.script("*", Reply(status=500), Reply(content="a + b"))
    config = config_for(server, inline_fim={"codestral-2501": "openai"})
    orchestrator = ModelOrchestrator(config)
    try:
        response = await orchestrator.process_request(inline_request())
    finally:
        await orchestrator.close()

    assert response.model_used is ModelType.GPT_4O_MINI
    paths = [request.path for request in server.requests]
    assert paths[0] == "/v1/completions" and paths[-1].endswith("/chat/completions")
