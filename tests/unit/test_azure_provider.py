"""The remote provider: real azure-ai-inference client against the loopback server.

Every HTTP failure must become one of our exceptions with a message that says what to do,
and never contain the token.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from tests.conftest import TEST_TOKEN

from aurelis.core.exceptions import (
    AuthenticationError,
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
    RateLimitError,
    TransientModelError,
    is_transient,
)
from aurelis.models import ModelRequest
from aurelis.models.providers.azure_inference import AzureInferenceProvider
from aurelis.models.providers.base import ProviderCall
from aurelis.models.server_limits import forget_learned_limits
from aurelis.testing import ModelServer, Reply

DEPLOYMENT = "mistral-ai/Codestral-2501"


@pytest.fixture
async def provider(model_server: ModelServer) -> AsyncIterator[AzureInferenceProvider]:
    provider = AzureInferenceProvider(
        model_server.url,
        TEST_TOKEN,
        token_source="GITHUB_TOKEN",
        connect_timeout=5,
        read_timeout=5,
    )
    yield provider
    await provider.close()


def call(timeout: float = 5.0) -> ProviderCall:
    request = ModelRequest(prompt="write code")
    return ProviderCall(
        model="codestral-2501",
        deployment=DEPLOYMENT,
        messages=[{"role": "user", "content": "write code"}],
        temperature=0.1,
        max_tokens=100,
        timeout=timeout,
        request=request,
        prompt_budget=1000,
    )


async def fail_with(
    provider: AzureInferenceProvider, server: ModelServer, reply: Reply, call_timeout: float = 5.0
) -> BaseException:
    server.script(DEPLOYMENT, reply)
    with pytest.raises(Exception) as raised:
        await provider.complete(call(call_timeout))
    assert TEST_TOKEN not in str(raised.value)
    return raised.value


async def test_completion_carries_content_usage_and_request_body(provider, model_server) -> None:
    model_server.script(
        DEPLOYMENT, Reply(content="def f():\n    return 1", prompt_tokens=7, completion_tokens=5)
    )
    completion = await provider.complete(call())
    assert completion.content == "def f():\n    return 1"
    assert (completion.prompt_tokens, completion.completion_tokens) == (7, 5)
    assert completion.finish_reason == "stop"
    [recorded] = model_server.requests
    assert recorded.body["model"] == DEPLOYMENT
    assert recorded.body["max_tokens"] == 100 and recorded.body["temperature"] == 0.1
    assert recorded.headers["Authorization"] == f"Bearer {TEST_TOKEN}"


async def test_rate_limit_headers_are_read(provider, model_server) -> None:
    model_server.enforce_rate_limit(DEPLOYMENT, per_minute=5)
    completion = await provider.complete(call())
    assert completion.rate_limit.remaining_requests == 4


async def test_401_is_an_authentication_error_naming_the_variable(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(status=401))
    assert isinstance(error, AuthenticationError) and not is_transient(error)
    assert "GITHUB_TOKEN" in str(error) and "401" in str(error)


async def test_wrong_token_is_rejected_by_the_server(model_server) -> None:
    provider = AzureInferenceProvider(
        model_server.url,
        "wrong-token-123",
        token_source="AURELIS_TOKEN",
        connect_timeout=5,
        read_timeout=5,
    )
    try:
        with pytest.raises(AuthenticationError) as raised:
            await provider.complete(call())
        assert "AURELIS_TOKEN" in str(raised.value)
        assert "wrong-token-123" not in str(raised.value)
    finally:
        await provider.close()


async def test_403_is_an_authentication_error_about_access(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(status=403))
    assert isinstance(error, AuthenticationError)
    assert "403" in str(error) and "no access" in str(error) and DEPLOYMENT in str(error)


async def test_404_unknown_model_is_unavailable_with_a_deployment_hint(
    provider, model_server
) -> None:
    error = await fail_with(provider, model_server, Reply(status=404))
    assert isinstance(error, ModelUnavailableError) and is_transient(error)
    assert "deployments.codestral-2501" in str(error)


async def test_410_explains_the_github_models_retirement(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(status=410))
    assert isinstance(error, ModelUnavailableError)
    message = str(error)
    assert "retired on 2026-07-30" in message and "AURELIS_ENDPOINT" in message


async def test_429_is_a_rate_limit_error_with_retry_after(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(status=429, retry_after=7))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7
    assert "UserByModelByMinute" in str(error)


async def test_500_is_transient(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(status=500, error_message="boom"))
    assert isinstance(error, TransientModelError) and is_transient(error)
    assert "500" in str(error) and "boom" in str(error)


async def test_400_is_not_transient(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(status=400, error_message="bad temp"))
    assert type(error) is ModelError and not is_transient(error)
    assert "400" in str(error) and "bad temp" in str(error)


async def test_timeout_is_a_model_timeout(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(latency=2.0), call_timeout=0.2)
    assert isinstance(error, ModelTimeoutError) and is_transient(error)
    assert "0.2s" in str(error)


async def test_dropped_connection_is_transient(provider, model_server) -> None:
    # A stream dropped before its answer is asked once more unstreamed (a server that fails
    # after starting its stream only says why that way): both dropped.
    model_server.script(DEPLOYMENT, Reply(drop=True))
    error = await fail_with(provider, model_server, Reply(drop=True))
    assert isinstance(error, TransientModelError)
    assert model_server.url in str(error)
    assert [request.stream for request in model_server.requests] == [True, False]


async def test_a_stream_dropped_before_answering_is_asked_again_unstreamed(
    provider, model_server
) -> None:
    model_server.script(DEPLOYMENT, Reply(drop=True), Reply(content="the answer"))
    completion = await provider.complete(call())
    assert completion.content == "the answer"
    assert [request.stream for request in model_server.requests] == [True, False]


async def test_malformed_json_is_a_response_error(provider, model_server) -> None:
    error = await fail_with(provider, model_server, Reply(malformed=True))
    assert isinstance(error, ModelResponseError) and "malformed" in str(error)


async def test_dead_endpoint_is_transient_connection_error() -> None:
    provider = AzureInferenceProvider(
        "http://127.0.0.1:9", None, token_source=None, connect_timeout=2, read_timeout=2
    )
    try:
        with pytest.raises(TransientModelError) as raised:
            await provider.complete(call())
        assert "127.0.0.1:9" in str(raised.value)
    finally:
        await provider.close()


async def test_streaming_yields_chunks_then_a_final_completion(provider, model_server) -> None:
    model_server.script(DEPLOYMENT, Reply(content="abcdefghijklmnopqrstuvwxyz", chunk_size=5))
    chunks = [chunk async for chunk in provider.stream(call())]
    texts = [chunk.text for chunk in chunks if chunk.text]
    assert texts == ["abcde", "fghij", "klmno", "pqrst", "uvwxy", "z"]
    final = chunks[-1].final
    assert final is not None and final.content == "abcdefghijklmnopqrstuvwxyz"
    assert final.completion_tokens > 0
    assert model_server.requests[0].stream


async def test_streaming_error_before_first_chunk_is_translated(provider, model_server) -> None:
    model_server.script(DEPLOYMENT, Reply(status=410))
    with pytest.raises(ModelUnavailableError):
        async for _ in provider.stream(call()):
            pass


async def test_streams_skip_keepalive_comments_and_unknown_fields(provider, model_server) -> None:
    model_server.script(DEPLOYMENT, Reply(content="abcdefghij", chunk_size=3, stream_comments=True))
    chunks = [chunk async for chunk in provider.stream(call())]
    assert "".join(chunk.text for chunk in chunks) == "abcdefghij"
    assert chunks[-1].final is not None and chunks[-1].final.finish_reason == "stop"


async def test_a_stream_cut_mid_answer_names_the_cut(provider, model_server, capfd) -> None:
    model_server.script(DEPLOYMENT, Reply(content="abcdefghijkl", chunk_size=2, cut_after_chunks=3))
    received = []
    with pytest.raises(TransientModelError) as raised:
        async for chunk in provider.stream(call()):
            received.append(chunk.text)
    assert received == ["ab", "cd", "ef"]
    message = str(raised.value)
    assert "closed after 3 chunks" in message and "malformed" not in message
    assert "Incomplete download" not in capfd.readouterr().err


async def test_a_complete_call_is_streamed_and_sees_the_same_cut(provider, model_server) -> None:
    model_server.script(DEPLOYMENT, Reply(content="abcdefghijkl", chunk_size=2, cut_after_chunks=2))
    with pytest.raises(TransientModelError, match="closed after 2 chunks"):
        await provider.complete(call())
    assert model_server.requests[-1].stream  # streamed internally, so a stall is seen early


async def test_a_complete_call_reads_the_whole_stream_past_keepalives(
    provider, model_server
) -> None:
    model_server.script(
        DEPLOYMENT, Reply(content="héllo ✓ wörld", chunk_size=3, stream_comments=True)
    )
    completion = await provider.complete(call())
    assert completion.content == "héllo ✓ wörld"
    assert completion.finish_reason == "stop" and completion.completion_tokens > 0
    assert model_server.requests[-1].stream


async def test_a_garbage_reply_to_a_stream_is_a_response_error(provider, model_server) -> None:
    model_server.script(DEPLOYMENT, Reply(malformed=True))
    with pytest.raises(ModelResponseError, match="malformed stream"):
        async for _ in provider.stream(call()):
            pass


async def test_a_context_length_400_is_refitted_and_sent_once_more(provider, model_server) -> None:
    limit_message = (
        "This model's maximum context length is 300 tokens. However, you requested 5000 "
        "tokens (4900 in the messages, 100 in the completion). Please reduce the length."
    )
    model_server.script(DEPLOYMENT, Reply(status=400, error_message=limit_message), Reply())
    long_call = ProviderCall(
        model="codestral-2501",
        deployment=DEPLOYMENT,
        messages=[{"role": "user", "content": "word " * 2000}],
        temperature=0.1,
        max_tokens=100,
        timeout=5,
        request=ModelRequest(prompt="explain", context={"existing_code": "x = 1\n" * 600}),
        prompt_budget=100_000,
    )
    try:
        completion = await provider.complete(long_call)
    finally:
        forget_learned_limits()
    first, second = model_server.requests
    assert completion.content
    assert len(json.dumps(second.body["messages"])) < len(json.dumps(first.body["messages"]))
    assert second.body["max_tokens"] == 100


async def test_a_stream_that_fails_before_its_first_event_learns_why_unstreamed(
    provider, model_server
) -> None:
    """llama-cpp-python starts its stream, then fails on a too-long prompt: only the same
    request unstreamed gets the 400 that says how long it may be."""
    too_long = (
        "This model's maximum context length is 400 tokens. However, you requested 900 tokens."
    )
    model_server.script(
        DEPLOYMENT,
        Reply(cut_after_chunks=0),
        Reply(status=400, error_message=too_long),
        Reply(content="short answer"),
    )
    try:
        completion = await provider.complete(call())
    finally:
        forget_learned_limits()
    assert completion.content == "short answer"
    assert [request.stream for request in model_server.requests] == [True, False, True]
