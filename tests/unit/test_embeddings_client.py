"""Embeddings: the real azure-ai-inference EmbeddingsClient (`EndpointEmbeddings`) against the
loopback server's embeddings route.

Vectors come back one per text, in order; every failure becomes one of our exceptions with a
message that says what to do and never holds the token.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
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
from aurelis.models.providers.embeddings import EndpointEmbeddings
from aurelis.testing import (
    EMBEDDING_DIMENSIONS,
    EMBEDDINGS_PATHS,
    ModelServer,
    Reply,
    hashed_embedding,
)
from aurelis.testing.embeddings import words_of

MODEL = "text-embedding-3-small"
TEXTS = ["def parse_config(path):", "class HttpClient:", "README: how to install"]


@pytest.fixture
async def client(model_server: ModelServer) -> AsyncIterator[EndpointEmbeddings]:
    embeddings = EndpointEmbeddings(
        model_server.url, TEST_TOKEN, MODEL, connect_timeout=2, read_timeout=5
    )
    yield embeddings
    await embeddings.close()


async def fail_with(client: EndpointEmbeddings, server: ModelServer, reply: Reply) -> Exception:
    server.script(MODEL, reply)
    with pytest.raises(Exception) as raised:
        await client.embed(TEXTS)
    assert TEST_TOKEN not in str(raised.value)
    return raised.value


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed): connects are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- the answer ---------------------------------------------------------------------------


async def test_one_vector_per_text_in_order(client, model_server) -> None:
    vectors = await client.embed(TEXTS)
    assert vectors == [hashed_embedding(text) for text in TEXTS]
    assert all(len(vector) == EMBEDDING_DIMENSIONS for vector in vectors)
    assert len({tuple(vector) for vector in vectors}) == len(TEXTS)  # order is observable


async def test_request_carries_the_texts_and_the_model(client, model_server) -> None:
    await client.embed(TEXTS)
    [recorded] = model_server.requests_for(MODEL)
    assert recorded.path == "/embeddings"
    assert recorded.body["input"] == TEXTS
    assert recorded.body["model"] == MODEL
    assert recorded.headers["Authorization"] == f"Bearer {TEST_TOKEN}"


async def test_control_endpoint_lists_embeddings_requests_by_path(client, model_server) -> None:
    await client.embed(["one"])
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{model_server.url}/_aurelis/requests") as response,
    ):
        listed = await response.json()
    assert listed == [
        {
            "model": MODEL,
            "body": {"input": ["one"], "model": MODEL},
            "path": "/embeddings",
            "stream": False,
        }
    ]


async def test_empty_input_sends_nothing(model_server) -> None:
    dead = EndpointEmbeddings(f"http://127.0.0.1:{closed_port()}", TEST_TOKEN, MODEL)
    try:
        assert await dead.embed([]) == []
    finally:
        await dead.close()
    assert model_server.requests == []


async def test_custom_embedder_is_used_for_its_model_only(model_server) -> None:
    model_server.set_embedder(MODEL, lambda text: [float(len(text)), 1.0, -2.5])
    other = EndpointEmbeddings(model_server.url, TEST_TOKEN, "other-model")
    mine = EndpointEmbeddings(model_server.url, TEST_TOKEN, MODEL)
    try:
        assert await mine.embed(["ab", "abcd"]) == [[2.0, 1.0, -2.5], [4.0, 1.0, -2.5]]
        assert await other.embed(["ab"]) == [hashed_embedding("ab")]
    finally:
        await mine.close()
        await other.close()


async def test_reset_forgets_custom_embedders(client, model_server) -> None:
    model_server.set_embedder("*", lambda text: [0.5, 0.5])
    assert await client.embed(["x"]) == [[0.5, 0.5]]
    model_server.reset()
    assert await client.embed(["x"]) == [hashed_embedding("x")]


@pytest.mark.parametrize("path", [p for p in EMBEDDINGS_PATHS if p != "/embeddings"])
async def test_every_prefix_serves_embeddings(model_server, path) -> None:
    prefix = path.removesuffix("/embeddings")
    embeddings = EndpointEmbeddings(model_server.url + prefix, TEST_TOKEN, MODEL)
    try:
        assert await embeddings.embed(["alpha beta"]) == [hashed_embedding("alpha beta")]
    finally:
        await embeddings.close()
    assert [r.path for r in model_server.requests] == [path]


async def test_answer_has_the_openai_shape(model_server) -> None:
    payload = {"input": ["ab", "cd ef"], "model": MODEL}
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{model_server.url}/v1/embeddings", json=payload, headers=headers) as resp,
    ):
        assert resp.status == 200
        body = await resp.json()
    assert body["object"] == "list"
    assert body["model"] == MODEL
    assert [(item["object"], item["index"]) for item in body["data"]] == [
        ("embedding", 0),
        ("embedding", 1),
    ]
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0


async def test_input_that_is_not_text_is_a_400(model_server) -> None:
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{model_server.url}/embeddings",
            json={"input": [1, 2], "model": MODEL},
            headers=headers,
        ) as resp,
    ):
        assert resp.status == 400
        assert "input" in (await resp.json())["error"]["message"]


# --- failures -----------------------------------------------------------------------------


async def test_wrong_token_is_an_authentication_error(model_server) -> None:
    wrong = "wrong-token-abcdefghijklmnop"
    embeddings = EndpointEmbeddings(model_server.url, wrong, MODEL)
    try:
        with pytest.raises(AuthenticationError) as raised:
            await embeddings.embed(TEXTS)
    finally:
        await embeddings.close()
    assert raised.value.status_code == 401
    assert "rejected" in str(raised.value)
    assert wrong not in str(raised.value) and TEST_TOKEN not in str(raised.value)
    assert not is_transient(raised.value)
    assert len(model_server.requests_for(MODEL)) == 1  # recorded, like chat requests


async def test_missing_token_says_to_configure_one(model_server) -> None:
    embeddings = EndpointEmbeddings(model_server.url, None, MODEL)
    try:
        with pytest.raises(AuthenticationError, match="no token is configured"):
            await embeddings.embed(TEXTS)
    finally:
        await embeddings.close()


async def test_403_is_an_authentication_error(client, model_server) -> None:
    error = await fail_with(client, model_server, Reply(status=403))
    assert isinstance(error, AuthenticationError)
    assert error.status_code == 403


async def test_404_names_the_model_and_the_missing_route(client, model_server) -> None:
    error = await fail_with(client, model_server, Reply(status=404))
    assert isinstance(error, ModelUnavailableError)
    assert error.status_code == 404
    assert MODEL in str(error)
    assert "embeddings route" in str(error)


async def test_endpoint_without_embeddings_route_is_unavailable(model_server) -> None:
    # The SDK appends /embeddings: under /nothing there is no such route on the server.
    embeddings = EndpointEmbeddings(model_server.url + "/nothing", TEST_TOKEN, MODEL)
    try:
        with pytest.raises(ModelUnavailableError, match=MODEL):
            await embeddings.embed(TEXTS)
    finally:
        await embeddings.close()


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_transient(client, model_server, status) -> None:
    error = await fail_with(client, model_server, Reply(status=status))
    assert type(error) is TransientModelError
    assert error.status_code == status
    assert is_transient(error)


async def test_429_is_a_rate_limit_with_its_wait(client, model_server) -> None:
    error = await fail_with(client, model_server, Reply(status=429, retry_after=7))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7
    assert "retry after 7s" in str(error)


async def test_other_client_errors_are_not_transient(client, model_server) -> None:
    error = await fail_with(client, model_server, Reply(status=422))
    assert type(error) is ModelError
    assert error.status_code == 422
    assert not is_transient(error)


async def test_scripted_failure_is_used_once_then_answers(client, model_server) -> None:
    model_server.script(MODEL, Reply(status=500))
    with pytest.raises(TransientModelError):
        await client.embed(TEXTS)
    assert len(await client.embed(TEXTS)) == len(TEXTS)  # no SDK retry consumed a reply
    assert len(model_server.requests_for(MODEL)) == 2


async def test_token_echoed_by_the_server_is_redacted(client, model_server) -> None:
    # A bare token, in no format a generic secret rule knows: only the client knows it.
    echo = f"upstream rejected caller {TEST_TOKEN} for this model"
    for status in (400, 401, 404, 500):
        error = await fail_with(client, model_server, Reply(status=status, error_message=echo))
        assert "upstream rejected caller" in str(error)  # the server's reason is kept...
        assert TEST_TOKEN not in repr(error.args)  # ...but not the token


async def test_dead_port_fails_fast_and_transient() -> None:
    dead = EndpointEmbeddings(
        f"http://127.0.0.1:{closed_port()}", TEST_TOKEN, MODEL, connect_timeout=2
    )
    started = time.monotonic()
    try:
        with pytest.raises(TransientModelError) as raised:
            await dead.embed(TEXTS)
    finally:
        await dead.close()
    assert time.monotonic() - started < 2
    assert "check that the endpoint is reachable" in str(raised.value)
    assert TEST_TOKEN not in str(raised.value)


async def test_slow_answer_is_a_timeout(model_server) -> None:
    model_server.script(MODEL, Reply(latency=2))
    slow = EndpointEmbeddings(model_server.url, TEST_TOKEN, MODEL, read_timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(ModelTimeoutError):
            await slow.embed(TEXTS)
    finally:
        await slow.close()
    assert time.monotonic() - started < 1.5


async def test_dropped_connection_is_transient(client, model_server) -> None:
    error = await fail_with(client, model_server, Reply(drop=True))
    assert isinstance(error, TransientModelError)


async def test_body_that_is_not_json_is_a_response_error(client, model_server) -> None:
    error = await fail_with(client, model_server, Reply(malformed=True))
    assert isinstance(error, ModelResponseError)


@pytest.mark.parametrize(
    "vector",
    [["0.1", "0.2"], [True, False], [], "AAAAAA=="],
    ids=["strings", "bools", "empty", "base64"],
)
async def test_non_numeric_vectors_are_response_errors(client, model_server, vector) -> None:
    model_server.set_embedder(MODEL, lambda text: vector)
    with pytest.raises(ModelResponseError, match=MODEL):
        await client.embed(TEXTS)


async def test_vectors_of_different_lengths_are_response_errors(client, model_server) -> None:
    model_server.set_embedder(MODEL, lambda text: [1.0] * len(text))
    with pytest.raises(ModelResponseError, match="different lengths"):
        await client.embed(["a", "abc"])


async def _serve_answer(data: list[dict[str, object]]) -> web.AppRunner:
    """A one-route server whose embeddings answer is `data`, whatever was asked."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": data, "model": MODEL})

    app = web.Application()
    app.router.add_post("/embeddings", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


@pytest.mark.parametrize(
    ("data", "what"),
    [
        ([{"index": 0, "embedding": [1.0]}], "1 vectors for 2 texts"),
        ([{"index": i, "embedding": [1.0]} for i in range(3)], "3 vectors for 2 texts"),
        ([{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}], "indexes"),
    ],
    ids=["too-few", "too-many", "duplicate-index"],
)
async def test_wrong_count_of_vectors_is_a_response_error(data, what) -> None:
    runner = await _serve_answer(data)
    port = runner.addresses[0][1]
    embeddings = EndpointEmbeddings(f"http://127.0.0.1:{port}", TEST_TOKEN, MODEL)
    try:
        with pytest.raises(ModelResponseError, match=what):
            await embeddings.embed(["a", "b"])
    finally:
        await embeddings.close()
        await runner.cleanup()


async def test_items_are_ordered_by_their_index() -> None:
    runner = await _serve_answer(
        [{"index": 1, "embedding": [2.0, 0.0]}, {"index": 0, "embedding": [1.0, 0.0]}]
    )
    port = runner.addresses[0][1]
    embeddings = EndpointEmbeddings(f"http://127.0.0.1:{port}", TEST_TOKEN, MODEL)
    try:
        assert await embeddings.embed(["a", "b"]) == [[1.0, 0.0], [2.0, 0.0]]
    finally:
        await embeddings.close()
        await runner.cleanup()


# --- the loopback server's default vectors ------------------------------------------------


def test_words_split_identifiers_at_underscores_and_camel_case() -> None:
    assert words_of("getUserName parse_HTTPResponse v2Parser") == [
        "get",
        "user",
        "name",
        "parse",
        "http",
        "response",
        "v2",
        "parser",
    ]


def test_hashed_embedding_is_a_normalised_bag_of_words() -> None:
    vector = hashed_embedding("readConfig read_config")
    assert len(vector) == EMBEDDING_DIMENSIONS
    assert math.isclose(math.fsum(value * value for value in vector), 1.0)
    assert hashed_embedding("getUserName") == hashed_embedding("get_user_name")
    assert hashed_embedding("name user get") == hashed_embedding("get user name")  # a bag
    assert hashed_embedding("parse config") != hashed_embedding("render template")


def test_hashed_embedding_is_stable_across_processes() -> None:
    # crc32, not Python's per-process salted hash: a fixed word has a fixed dimension
    # (crc32("alpha") % 64 == 42, crc32("beta") % 64 == 35), whatever PYTHONHASHSEED is.
    expected = [0.0] * EMBEDDING_DIMENSIONS
    expected[42] = expected[35] = 1 / math.sqrt(2)
    assert hashed_embedding("Alpha beta") == pytest.approx(expected)


def test_text_without_words_is_the_first_unit_vector() -> None:
    for text in ("", "  -- ;; ", "___"):
        assert hashed_embedding(text) == [1.0] + [0.0] * (EMBEDDING_DIMENSIONS - 1)


# --- token vectors (llama-cpp-python's server, a model without pooling) -------------------


def _token_vectors(text: str) -> list[list[float]]:
    """One vector per word, as a server answers for a model that pools nothing."""
    return [[float(len(word)), 1.0] for word in text.split()] or [[0.0, 1.0]]


async def test_token_vectors_are_averaged_and_later_texts_go_one_a_request(
    client, model_server
) -> None:
    model_server.set_embedder(MODEL, _token_vectors)  # type: ignore[arg-type]

    first = await client.embed(["ab abcd", "abcdef"])
    later = await client.embed(["a", "abc", "ab"])

    assert first == [[3.0, 1.0], [6.0, 1.0]]
    assert later == [[1.0, 1.0], [3.0, 1.0], [2.0, 1.0]]
    sent = [r.body["input"] for r in model_server.requests if r.path in EMBEDDINGS_PATHS]
    # The batch that showed token vectors, its second text again alone, then one by one.
    assert sent == [["ab abcd", "abcdef"], ["abcdef"], ["a"], ["abc"], ["ab"]]
