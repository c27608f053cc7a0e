"""Fill-in-the-middle on the wire against the real llama-cpp-python server.

The embedded gemma model has no FIM tokens, so what it writes says nothing about FIM
quality: these tests pin the request shape (the server accepts our `/v1/completions` body
with `suffix`), the parsing of its answer, and the error for a route it does not have.
"""

from __future__ import annotations

import pytest
from tests.interop.llama_server import ALIAS, LlamaServer

from aurelis.core.exceptions import ModelUnavailableError
from aurelis.models import ModelRequest, TaskType
from aurelis.models.providers.base import FimPrompt, ProviderCall
from aurelis.models.providers.fim import FimDialect, FimProvider

pytestmark = pytest.mark.local_model


def fim_call(prefix: str, suffix: str, max_tokens: int = 8) -> ProviderCall:
    request = ModelRequest(prompt=prefix, task_type=TaskType.CODE_COMPLETION, temperature=0.0)
    return ProviderCall(
        model="codestral-2501",
        deployment=ALIAS,
        messages=[],
        temperature=0.0,
        max_tokens=max_tokens,
        timeout=120,
        request=request,
        prompt_budget=2000,
        fim=FimPrompt(prefix, suffix),
    )


def provider(server: LlamaServer, dialect: FimDialect) -> FimProvider:
    return FimProvider(
        server.url,
        None,
        dialects={"codestral-2501": dialect},
        connect_timeout=10,
        read_timeout=120,
    )


async def test_openai_style_completion_with_a_suffix_is_answered(
    llama_server: LlamaServer,
) -> None:
    fim = provider(llama_server, "openai")
    try:
        completion = await fim.complete(
            fim_call("def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n")
        )
    finally:
        await fim.close()

    assert isinstance(completion.content, str)
    assert completion.prompt_tokens > 0
    assert 0 < completion.completion_tokens <= 8
    assert completion.finish_reason in {"stop", "length"}
    assert completion.extra == {"fim": "openai"}


@pytest.mark.parametrize("dialect", ["llama_cpp", "mistral"])
async def test_a_route_the_server_lacks_is_a_clear_unavailable_error(
    llama_server: LlamaServer, dialect: FimDialect
) -> None:
    fim = provider(llama_server, dialect)
    try:
        with pytest.raises(ModelUnavailableError) as raised:
            await fim.complete(fim_call("x = ", "\n"))
    finally:
        await fim.close()

    assert "fill-in-the-middle" in str(raised.value)
    assert raised.value.status_code == 404
