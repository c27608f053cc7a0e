"""The server's context-length 400: read its limit, refit the prompt, answer (item 5)."""

from __future__ import annotations

import argparse
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.interop.llama_server import ALIAS, LlamaServer

from aurelis.core.config import AurelisConfig
from aurelis.models import ModelOrchestrator, ModelRequest, ModelType, TaskType
from aurelis.models.server_limits import forget_learned_limits, learned_limit
from aurelis.models.tokens import count_tokens

#: A server of its own with a small window keeps the refitted prompt quick to evaluate.
WINDOW = 1024
# 12 KB of a real Python file: ~3k of our tokens, more of gemma's, far more than 1024.
BIG_FILE = Path(argparse.__file__).read_text()[:12_000]
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
async def orchestrator(isolated_config: AurelisConfig) -> AsyncIterator[ModelOrchestrator]:
    forget_learned_limits()
    orchestrator = ModelOrchestrator()
    yield orchestrator
    await orchestrator.close()
    forget_learned_limits()


def rejections(server: LlamaServer) -> int:
    return len(re.findall(r'POST /v1/chat/completions\S* HTTP/1.1" 400', server.log()))


async def test_a_too_long_prompt_is_refitted_to_the_servers_window(
    start_llama_server, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    llama_server: LlamaServer = start_llama_server("--n_ctx", str(WINDOW))
    isolated_config.update(
        {
            "provider": "azure",
            "endpoint": llama_server.url,
            "deployments": {ModelType.CODESTRAL_2501: ALIAS},
            "local_fallback": False,
            "cache_enabled": False,
        }
    )
    assert count_tokens(BIG_FILE) > WINDOW  # the catalog's 256k window lets it all through
    request = ModelRequest(
        prompt="Summarise this module in one line.",
        task_type=TaskType.CODE_GENERATION,
        context={"existing_code": BIG_FILE},
        max_tokens=8,
    )
    before = rejections(llama_server)
    response = await orchestrator.process_request(request)
    assert response.model_used is ModelType.CODESTRAL_2501
    assert rejections(llama_server) == before + 1  # one 400, then the refitted prompt
    learned = learned_limit(llama_server.url, ALIAS)
    assert learned is not None and learned.context_window == WINDOW
    assert learned.token_ratio is not None and learned.token_ratio > 1.2

    # The next long request fits the first time.
    again = ModelRequest(
        prompt="Name one class in this module.",
        task_type=TaskType.CODE_GENERATION,
        context={"existing_code": BIG_FILE},
        max_tokens=8,
    )
    second = await orchestrator.process_request(again)
    assert second.model_used is ModelType.CODESTRAL_2501
    assert rejections(llama_server) == before + 1
    assert second.metadata is not None and second.metadata.get("context_truncated")


async def test_the_servers_token_count_route_teaches_its_ratio(
    llama_server: LlamaServer, isolated_config: AurelisConfig, orchestrator: ModelOrchestrator
) -> None:
    """llama-cpp-python counts with the model's own tokenizer at /extras/tokenize/count."""
    isolated_config.update(
        {
            "provider": "azure",
            "endpoint": llama_server.url,
            "deployments": {ModelType.CODESTRAL_2501: ALIAS},
            "local_fallback": False,
            "cache_enabled": False,
        }
    )
    code = BIG_FILE[:5000]  # ~1.2k of our tokens: fits the 4096 window either way
    request = ModelRequest(
        prompt="Name one class in this module.",
        task_type=TaskType.CODE_GENERATION,
        context={"existing_code": code},
        max_tokens=4,
    )
    response = await orchestrator.process_request(request)
    assert response.model_used is ModelType.CODESTRAL_2501
    learned = learned_limit(llama_server.url, ALIAS)
    assert learned is not None and learned.token_ratio is not None
    assert 1.1 < learned.token_ratio < 2.0  # gemma counts ~1.5x cl100k on Python
    assert "/extras/tokenize/count" in llama_server.log()
