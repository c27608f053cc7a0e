"""Fallback chains: which models are tried, and what the caller learns when they fail."""

from __future__ import annotations

import pytest

from aurelis.core.config import AurelisConfig, get_config
from aurelis.core.exceptions import AuthenticationError, ModelError
from aurelis.models import ModelRequest, ModelType, TaskType
from aurelis.models.fallback import AllModelsFailedError, fallback_chain
from aurelis.models.orchestrator import get_model_orchestrator
from aurelis.testing import Reply

CODESTRAL = "mistral-ai/Codestral-2501"
MINI = "openai/gpt-4o-mini"
NEMO = "mistral-ai/Mistral-Nemo"
M = ModelType


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    remote_config.update({"max_retries": 0})
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


def remote(**settings) -> AurelisConfig:
    config = get_config()
    config.update({"provider": "azure", "endpoint": "http://127.0.0.1:9", **settings})
    return config


@pytest.mark.parametrize(
    ("primary", "chain"),
    [
        (M.CODESTRAL_2501, [M.CODESTRAL_2501, M.GPT_4O_MINI, M.MISTRAL_NEMO, M.LOCAL]),
        (M.GPT_4O, [M.GPT_4O, M.GPT_4O_MINI, M.MISTRAL_NEMO, M.LOCAL]),
        (M.GPT_4O_MINI, [M.GPT_4O_MINI, M.MISTRAL_NEMO, M.LOCAL]),
        (M.MISTRAL_NEMO, [M.MISTRAL_NEMO, M.LOCAL]),
    ],
)
def test_default_chains_end_in_local(primary: ModelType, chain: list[ModelType]) -> None:
    assert fallback_chain(primary, remote()) == chain


def test_local_fallback_off_drops_the_local_link() -> None:
    assert fallback_chain(M.COHERE_COMMAND_R, remote(local_fallback=False)) == [
        M.COHERE_COMMAND_R,
        M.GPT_4O_MINI,
        M.MISTRAL_NEMO,
    ]


def test_configured_chain_replaces_the_default_links() -> None:
    config = remote(fallback_chains={"codestral-2501": ["gpt-4o", "codestral-2501"]})
    assert fallback_chain(M.CODESTRAL_2501, config) == [M.CODESTRAL_2501, M.GPT_4O, M.LOCAL]


def test_offline_the_chain_is_just_local() -> None:
    config = get_config()
    config.provider = "local"
    assert fallback_chain(M.CODESTRAL_2501, config) == [M.LOCAL]


async def test_seed_example_codestral_fails_and_gpt_4o_mini_answers(
    orchestrator, model_server
) -> None:
    model_server.set_default(CODESTRAL, Reply(status=503))
    response = await orchestrator.process_request(
        ModelRequest(
            prompt="Generate a Python function to calculate fibonacci numbers",
            model_type=ModelType.CODESTRAL_2501,
            task_type=TaskType.CODE_GENERATION,
            max_tokens=1000,
        )
    )
    assert response.model_used == ModelType.GPT_4O_MINI
    assert response.content.startswith(f"[{MINI}]")
    [failed] = response.metadata["fallback_from"]
    assert failed["model"] == "codestral-2501"
    assert "503" in failed["error"] and "TransientModelError" in failed["error"]


async def test_whole_chain_failing_lists_every_attempt_and_its_cause(
    orchestrator, model_server
) -> None:
    model_server.set_default(CODESTRAL, Reply(status=503))
    model_server.set_default(MINI, Reply(drop=True))
    model_server.set_default(NEMO, Reply(malformed=True))
    with pytest.raises(ModelError) as raised:
        await orchestrator.process_request(ModelRequest(prompt="x", model_type="codestral-2501"))
    error = raised.value
    assert isinstance(error, AllModelsFailedError)
    assert [a.model for a in error.attempts] == [M.CODESTRAL_2501, M.GPT_4O_MINI, M.MISTRAL_NEMO]
    message = str(error)
    assert "codestral-2501: TransientModelError" in message and "503" in message
    assert "gpt-4o-mini: TransientModelError" in message and "dropped" in message
    assert "mistral-nemo: ModelResponseError" in message and "malformed" in message


async def test_authentication_errors_are_raised_at_once(orchestrator, model_server) -> None:
    model_server.token = "another-token-entirely"
    with pytest.raises(AuthenticationError):
        await orchestrator.process_request(ModelRequest(prompt="x", model_type="codestral-2501"))
    assert len(model_server.requests) == 1  # no retry, no fallback


async def test_bad_requests_are_raised_at_once(orchestrator, model_server, remote_config) -> None:
    remote_config.max_retries = 2
    model_server.set_default(CODESTRAL, Reply(status=400))
    with pytest.raises(ModelError, match="400") as raised:
        await orchestrator.process_request(ModelRequest(prompt="x", model_type="codestral-2501"))
    assert not isinstance(raised.value, AllModelsFailedError)
    assert len(model_server.requests) == 1


async def test_a_prompt_too_long_for_one_model_goes_to_the_next(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.context_windows = {ModelType.CODESTRAL_2501: 600}
    prompt = "Refactor this:\n" + "value = compute(value) + 1\n" * 200
    response = await orchestrator.process_request(
        ModelRequest(prompt=prompt, model_type=ModelType.CODESTRAL_2501, max_tokens=100)
    )
    assert response.model_used is ModelType.GPT_4O_MINI
    assert "PromptTooLongError" in response.metadata["fallback_from"][0]["error"]
    assert model_server.requests_for(CODESTRAL) == []  # it never had a chance of fitting


@pytest.mark.local_model
async def test_fallback_goes_all_the_way_down_to_the_local_model(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.local_fallback = True
    model_server.set_default("*", Reply(status=503))
    response = await orchestrator.process_request(
        ModelRequest(
            prompt="def add(a, b):\n",
            model_type=ModelType.CODESTRAL_2501,
            task_type=TaskType.CODE_COMPLETION,
            max_tokens=12,
            temperature=0.0,
        )
    )
    assert response.model_used is ModelType.LOCAL
    assert response.content.strip()
    assert [f["model"] for f in response.metadata["fallback_from"]] == [
        "codestral-2501",
        "gpt-4o-mini",
        "mistral-nemo",
    ]
