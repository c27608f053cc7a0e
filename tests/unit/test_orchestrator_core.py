"""The seed's API examples, end to end through the real SDK client and loopback server."""

from __future__ import annotations

import json
import logging

import pytest

from aurelis.core.config import AurelisConfig, get_config
from aurelis.core.exceptions import AuthenticationError, ModelError
from aurelis.models import ModelRequest, ModelResponse, ModelType, TaskType, get_model_orchestrator
from aurelis.testing import ModelServer, Reply

SEED_PROMPT = "Generate a Python function to calculate fibonacci numbers"


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


async def test_seed_example_single_request(orchestrator, model_server: ModelServer) -> None:
    request = ModelRequest(
        prompt=SEED_PROMPT,
        model_type=ModelType.CODESTRAL_2501,
        task_type=TaskType.CODE_GENERATION,
        system_prompt="You are an expert Python developer.",
        temperature=0.1,
        max_tokens=1000,
    )
    response = await orchestrator.process_request(request)
    assert isinstance(response, ModelResponse)
    assert response.content == f"[mistral-ai/Codestral-2501] {SEED_PROMPT}"
    assert response.model_used is ModelType.CODESTRAL_2501
    assert response.tokens_used > 0
    assert 0 < response.processing_time < 10
    assert response.cached is False
    assert response.metadata["task_type"] == "code_generation"
    [sent] = model_server.requests
    assert sent.body["messages"][0] == {
        "role": "system",
        "content": "You are an expert Python developer.",
    }
    assert sent.body["max_tokens"] == 1000 and sent.body["temperature"] == 0.1


async def test_seed_example_batch_keeps_order(orchestrator, model_server: ModelServer) -> None:
    model_server.script("openai/gpt-4o-mini", Reply(latency=0.2))  # A answers last
    responses = await orchestrator.process_batch(
        [ModelRequest(prompt="Generate function A"), ModelRequest(prompt="Generate function B")]
    )
    assert [r.content for r in responses] == [
        "[openai/gpt-4o-mini] Generate function A",
        "[openai/gpt-4o-mini] Generate function B",
    ]
    assert all(r.model_used is ModelType.GPT_4O_MINI for r in responses)


@pytest.mark.parametrize(
    ("task", "deployment"),
    [
        (TaskType.CODE_GENERATION, "mistral-ai/Codestral-2501"),
        (TaskType.DOCUMENTATION, "cohere/cohere-command-r-08-2024"),
        (TaskType.ANALYSIS, "openai/gpt-4o"),
        (TaskType.GENERAL, "openai/gpt-4o-mini"),
    ],
)
async def test_task_reaches_its_routed_deployment(
    orchestrator, model_server, task, deployment
) -> None:
    await orchestrator.process_request(ModelRequest(prompt="hello", task_type=task))
    assert [r.model for r in model_server.requests] == [deployment]


async def test_deployment_override_changes_what_is_sent(orchestrator, model_server) -> None:
    get_config().deployments = {"gpt-4o-mini": "llama3.2:3b"}
    response = await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert model_server.requests[0].model == "llama3.2:3b"
    assert response.model_used is ModelType.GPT_4O_MINI


async def test_context_reaches_the_model_as_fenced_sections(orchestrator, model_server) -> None:
    await orchestrator.process_request(
        ModelRequest(
            prompt="Add error handling",
            task_type=TaskType.REFACTORING,
            context={
                "existing_code": "def load(p):\n    return open(p).read()",
                "error_patterns": ["FileNotFoundError"],
            },
        )
    )
    user = model_server.requests[0].last_user_message
    assert "## Existing code\n```\ndef load(p):\n    return open(p).read()\n```" in user
    assert (
        user.index("## Existing code") < user.index("## Error patterns") < user.index("## Request")
    )


async def test_truncated_context_is_reported_in_metadata(orchestrator, model_server) -> None:
    get_config().context_windows = {"gpt-4o-mini": 1500}
    response = await orchestrator.process_request(
        ModelRequest(
            prompt="Summarise",
            max_tokens=500,
            context={"existing_code": "x = 1\n" * 3000},
        )
    )
    [cut] = response.metadata["context_truncated"]
    assert cut["key"] == "existing_code" and cut["kept_tokens"] < cut["original_tokens"]
    assert len(model_server.requests[0].last_user_message) < 6 * 3000


async def test_request_metadata_is_carried_and_logged(orchestrator, caplog) -> None:
    caplog.set_level(logging.INFO, logger="aurelis.models")
    metadata = {"user_id": "u-1", "project_id": "p-9", "session_id": "s-3"}
    response = await orchestrator.process_request(ModelRequest(prompt="hi", metadata=metadata))
    assert {k: response.metadata[k] for k in metadata} == metadata
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("model_request ")]
    logged = json.loads(line.split(" ", 1)[1])
    assert logged["metadata"] == metadata and logged["model"] == "gpt-4o-mini"


async def test_stream_request_yields_the_answer_in_pieces(orchestrator, model_server) -> None:
    model_server.script("openai/gpt-4o-mini", Reply(content="streamed answer text", chunk_size=4))
    chunks = [chunk async for chunk in orchestrator.stream_request(ModelRequest(prompt="hi"))]
    assert len(chunks) >= 5 and "".join(chunks) == "streamed answer text"


async def test_authentication_error_surfaces_without_leaking_the_token(
    orchestrator, model_server
) -> None:
    model_server.set_default("*", Reply(status=401))
    with pytest.raises(AuthenticationError) as raised:
        await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert "AURELIS_TOKEN" in str(raised.value)
    assert get_config().token.get_secret_value() not in str(raised.value)
    assert len(model_server.requests) == 1  # never retried


async def test_retired_endpoint_error_says_how_to_configure_another(
    orchestrator, model_server
) -> None:
    get_config().fallback_chains = {"gpt-4o-mini": []}
    get_config().max_retries = 0
    model_server.set_default("*", Reply(status=410))
    with pytest.raises(ModelError) as raised:
        await orchestrator.process_request(ModelRequest(prompt="hi"))
    assert "2026-07-30" in str(raised.value) and "AURELIS_ENDPOINT" in str(raised.value)


def test_get_model_orchestrator_is_process_wide() -> None:
    assert get_model_orchestrator() is get_model_orchestrator()


@pytest.mark.local_model
async def test_offline_requests_run_on_the_embedded_local_model() -> None:
    orchestrator = get_model_orchestrator()
    try:
        response = await orchestrator.process_request(
            ModelRequest(
                prompt="a Python function that returns the square of a number",
                task_type=TaskType.CODE_GENERATION,
                max_tokens=48,
                temperature=0.0,
            )
        )
    finally:
        await orchestrator.close()
    assert response.model_used is ModelType.LOCAL
    assert response.metadata["endpoint"] == "local"
    assert response.tokens_used > 0
    assert "def " in response.content or "return" in response.content
