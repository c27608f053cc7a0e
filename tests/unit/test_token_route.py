"""The server's token-count route: where it is, and a server without it asked only once."""

from __future__ import annotations

from aurelis.models import ModelRequest
from aurelis.models.providers.azure_inference import AzureInferenceProvider
from aurelis.models.providers.base import ProviderCall
from aurelis.models.providers.token_route import TokenCounter, count_route_url
from aurelis.testing import ModelServer


def test_the_route_sits_at_the_servers_root() -> None:
    assert (
        count_route_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/extras/tokenize/count"
    )
    assert count_route_url("http://h:1/v1/") == "http://h:1/extras/tokenize/count"
    assert count_route_url("http://h:1/openai") == "http://h:1/openai/extras/tokenize/count"


def big_call() -> ProviderCall:
    return ProviderCall(
        model="codestral-2501",
        deployment="d",
        messages=[{"role": "user", "content": "word " * 3000}],
        temperature=0.1,
        max_tokens=10,
        timeout=5,
        request=ModelRequest(prompt="x"),
        prompt_budget=100_000,
    )


async def test_a_server_without_the_route_is_not_asked_again(model_server: ModelServer) -> None:
    provider = AzureInferenceProvider(
        model_server.url, None, token_source=None, connect_timeout=5, read_timeout=5
    )
    counter = TokenCounter(model_server.url)
    try:
        assert counter.worth_asking(big_call())
        assert await counter.learn_ratio(provider._client.send_request, big_call()) is None
        assert not counter.worth_asking(big_call())
    finally:
        await provider.close()
