"""The embedded llama.cpp provider on the real bundled GGUF."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aurelis.core.exceptions import ModelUnavailableError
from aurelis.models import TaskType
from aurelis.models.providers.base import ProviderCall
from aurelis.models.providers.local import LocalProvider, direct_call


def call(prompt: str, task: TaskType, max_tokens: int) -> ProviderCall:
    return direct_call(prompt, max_tokens, task=task)


async def test_missing_gguf_is_a_clear_unavailable_error(tmp_path: Path) -> None:
    provider = LocalProvider(tmp_path / "nope.gguf", context_size=1024, threads=1)
    with pytest.raises(ModelUnavailableError) as raised:
        await provider.complete(call("x", TaskType.GENERAL, 4))
    assert "nope.gguf" in str(raised.value) and "local_model_path" in str(raised.value)


async def test_file_that_is_not_a_gguf_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model")
    provider = LocalProvider(bogus, context_size=1024, threads=1)
    with pytest.raises(ModelUnavailableError) as raised:
        await provider.complete(call("x", TaskType.GENERAL, 4))
    assert "cannot load local model" in str(raised.value)


@pytest.mark.local_model
async def test_completion_continues_code_and_counts_tokens() -> None:
    provider = LocalProvider(None, context_size=1024, threads=2)
    completion = await provider.complete(
        call("def add(a, b):\n    return", TaskType.CODE_COMPLETION, 8)
    )
    assert completion.content.strip()
    assert 0 < completion.completion_tokens <= 8
    assert completion.prompt_tokens > 0


@pytest.mark.local_model
async def test_cancelling_a_stream_stops_generation_promptly() -> None:
    provider = LocalProvider(None, context_size=1024, threads=2)
    await provider.complete(call("x = ", TaskType.CODE_COMPLETION, 1))  # load outside timing
    chunks: list[str] = []
    streaming = asyncio.Event()

    async def consume() -> None:
        async for chunk in provider.stream(call("# A long story\n", TaskType.CODE_COMPLETION, 400)):
            chunks.append(chunk.text)
            if len(chunks) >= 3:
                streaming.set()

    task = asyncio.create_task(consume())
    await streaming.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The worker stops at the next token instead of generating all 400: it is free again
    # long before 400 tokens' worth of time, and the next call is answered.
    assert await provider.settled(5.0)
    completion = await provider.complete(call("y = ", TaskType.CODE_COMPLETION, 2))
    assert completion.completion_tokens >= 1
