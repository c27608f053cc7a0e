"""Prompts for the local model are fitted with its own tokenizer once it is loaded;
the fixed 1.55 x cl100k ratio is only the fallback until then.

The texts are picked where the ratio is wrong: digits take one gemma token each but a third
of a cl100k token (3x), Chinese comments fewer gemma tokens than cl100k ones (0.6x).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator

import pytest

from aurelis.core.config import AurelisConfig
from aurelis.models import ModelRequest, TaskType
from aurelis.models.orchestrator import ModelOrchestrator, get_model_orchestrator
from aurelis.models.prompts import build_completion_prompt
from aurelis.models.providers.local import LocalProvider
from aurelis.models.routing import EMBEDDED_MODEL_TOKEN_RATIO
from aurelis.models.tokens import count_tokens, counting_with, model_tokenizer, truncate_head

WINDOW, OUTPUT = 1024, 16
BUDGET = int((WINDOW - OUTPUT) / EMBEDDED_MODEL_TOKEN_RATIO)  # what the pipeline passes


def digits_table(rows: int) -> str:
    """Rows of 48 digits: cl100k takes three digits a token, gemma one."""
    rng = random.Random(7)
    lines = [f'    "{rng.randrange(10**47, 10**48)}",' for _ in range(rows)]
    return "TABLE = [\n" + "\n".join(lines) + "\n]\n"


CHINESE_COMMENTS = "".join(
    f"# 第{i}步：我们的代码需要更多的测试和文档，请保持函数简短。\nstep_{i}()\n" for i in range(24)
)


def completion_request(code: str) -> ModelRequest:
    return ModelRequest(
        prompt="total = sum(",
        task_type=TaskType.CODE_COMPLETION,
        context={"existing_code": code},
        max_tokens=OUTPUT,
    )


def test_until_the_model_is_loaded_the_ratio_stands_in() -> None:
    provider = LocalProvider(None, context_size=WINDOW, threads=2)
    text = digits_table(3)
    cl100k = count_tokens(text)
    with counting_with(model_tokenizer(provider, EMBEDDED_MODEL_TOKEN_RATIO)):
        assert count_tokens(text) == cl100k
        assert build_completion_prompt(completion_request(text), BUDGET).truncated == []
    assert provider.state == "not_loaded"  # counting never loads the model


@pytest.fixture(scope="module")
def loaded() -> Iterator[LocalProvider]:
    """The real embedded model, loaded once for the module (counting needs no loop)."""
    provider = LocalProvider(None, context_size=WINDOW, threads=2)
    assert asyncio.run(provider.preload()) == "ready"
    yield provider
    asyncio.run(provider.close())


@pytest.mark.local_model
async def test_a_prompt_the_ratio_undercounts_is_cut_to_the_real_window(
    loaded: LocalProvider,
) -> None:
    request = completion_request(digits_table(24))
    by_ratio = build_completion_prompt(request, BUDGET)
    real_by_ratio = loaded.count_tokens(by_ratio.text)
    assert real_by_ratio is not None and real_by_ratio > WINDOW - OUTPUT  # would overflow

    with counting_with(model_tokenizer(loaded, EMBEDDED_MODEL_TOKEN_RATIO)):
        fitted = build_completion_prompt(request, BUDGET)
    real = loaded.count_tokens(fitted.text)
    assert real is not None and real <= WINDOW - OUTPUT
    assert fitted.truncated and "TABLE = [" in fitted.text  # cut, not dropped


@pytest.mark.local_model
async def test_a_prompt_the_ratio_overcounts_is_kept_whole(loaded: LocalProvider) -> None:
    request = completion_request(CHINESE_COMMENTS)
    assert build_completion_prompt(request, BUDGET).truncated  # the ratio would cut it

    with counting_with(model_tokenizer(loaded, EMBEDDED_MODEL_TOKEN_RATIO)):
        fitted = build_completion_prompt(request, BUDGET)
    assert fitted.truncated == []
    assert CHINESE_COMMENTS.strip() in fitted.text
    real = loaded.count_tokens(fitted.text)
    assert real is not None and real <= WINDOW - OUTPUT


@pytest.mark.local_model
async def test_truncation_by_the_model_keeps_as_much_as_fits(loaded: LocalProvider) -> None:
    text = digits_table(40)
    with counting_with(model_tokenizer(loaded, 1.0)):
        head = truncate_head(text, 300)
    real = loaded.count_tokens(head)
    assert real is not None and 270 <= real <= 300  # fits, and not much less
    assert text.startswith(head)


@pytest.fixture
async def offline(isolated_config: AurelisConfig) -> AsyncIterator[ModelOrchestrator]:
    isolated_config.update(
        {"provider": "local", "local_context_size": WINDOW, "cache_enabled": False}
    )
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


@pytest.mark.local_model
async def test_the_pipeline_fits_a_local_prompt_with_the_real_count(
    offline: ModelOrchestrator,
) -> None:
    # Before the fix this request overflowed llama.cpp's window and failed.
    answer = await offline.process_request(completion_request(digits_table(24)))
    assert answer.model_used.value == "local" and answer.metadata is not None
    assert 0 < answer.metadata["prompt_tokens"] <= WINDOW - OUTPUT
