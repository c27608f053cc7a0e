"""The request deadline bounds prompt building and token counting, not only the HTTP call.

Through the real orchestrator, the real azure-ai-inference client and the loopback model
server: oversized input is refused before it is tokenized, and counting that cannot
finish within the deadline ends the request with the deadline error.
"""

from __future__ import annotations

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ModelTimeoutError, PromptTooLongError
from aurelis.models import ModelRequest, ModelType, TaskType, get_model_orchestrator
from aurelis.testing import ModelServer

_LINE = "def handler_{n}(event, context):  # route the event to its worker\n"


def _code(chars: int) -> str:
    lines, size, n = [], 0, 0
    while size < chars:
        line = _LINE.format(n=n)
        lines.append(line)
        size += len(line)
        n += 1
    return "".join(lines)


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    remote_config.update({"deadline": 20.0})
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


async def test_a_prompt_larger_than_any_window_of_the_chain_is_refused_before_tokenizing(
    orchestrator, model_server: ModelServer
) -> None:
    request = ModelRequest(prompt=_code(20_000_000), task_type=TaskType.CODE_GENERATION)

    with pytest.raises(PromptTooLongError) as raised:
        await orchestrator.process_request(request)

    message = str(raised.value)
    assert "characters" in message and "codestral-2501" in message
    assert model_server.requests == []


async def test_counting_that_outlasts_the_deadline_ends_with_the_deadline_error(
    orchestrator, remote_config: AurelisConfig, model_server: ModelServer
) -> None:
    # Small enough to pass the cheap bound, far too large to count in 10 ms.
    remote_config.update({"deadline": 0.01})
    request = ModelRequest(
        prompt=_code(4_000_000),
        model_type=ModelType.CODESTRAL_2501,
        task_type=TaskType.CODE_GENERATION,
    )

    with pytest.raises(ModelTimeoutError) as raised:
        await orchestrator.process_request(request)

    assert "deadline" in str(raised.value)
    assert model_server.requests == []


async def test_a_huge_context_is_cut_to_the_window_and_the_request_answered(
    orchestrator, model_server: ModelServer
) -> None:
    request = ModelRequest(
        prompt="Explain the first handler.",
        model_type=ModelType.GPT_4O_MINI,
        task_type=TaskType.EXPLANATION,
        context={"existing_code": _code(20_000_000)},
    )

    response = await orchestrator.process_request(request)

    assert response.model_used is ModelType.GPT_4O_MINI
    [sent] = model_server.requests
    user = sent.last_user_message
    assert "def handler_0(" in user and "[truncated]" in user
    assert len(user) < 128_000 * 8  # within the window, not the 20 MB handed in
