"""The loopback model server, driven through the real azure-ai-inference client."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from azure.ai.inference import ChatCompletionsClient as SyncChatCompletionsClient
from azure.ai.inference.aio import ChatCompletionsClient
from azure.ai.inference.models import CompletionsFinishReason
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from aurelis.testing import ModelServer, Reply

MODEL = "openai/gpt-4o-mini"
OTHER = "mistral-ai/Codestral-2501"
HI = [{"role": "user", "content": "hi"}]
SERVER_DIR = Path(__file__).resolve().parents[2] / "server"


@pytest_asyncio.fixture
async def server() -> AsyncIterator[ModelServer]:
    async with ModelServer() as srv:
        yield srv


def make_client(srv: ModelServer, key: str = "test-token") -> ChatCompletionsClient:
    # retry_total=0: the SDK would otherwise resend 5xx / Retry-After answers by itself.
    return ChatCompletionsClient(
        endpoint=srv.url, credential=AzureKeyCredential(key), retry_total=0
    )


@pytest_asyncio.fixture
async def client(server: ModelServer) -> AsyncIterator[ChatCompletionsClient]:
    async with make_client(server) as c:
        yield c


async def ask(client: ChatCompletionsClient, text: str = "hi", model: str = MODEL, **kw: Any):
    return await client.complete(messages=[{"role": "user", "content": text}], model=model, **kw)


# --------------------------------------------------------------------------- content


@pytest.mark.asyncio
async def test_default_content_names_the_model_and_echoes_the_prompt(server, client):
    result = await ask(client, "  explain\n\tthis   code please  ")

    assert result.choices[0].message.content == f"[{MODEL}] explain this code please"
    assert result.choices[0].finish_reason == CompletionsFinishReason.STOPPED
    assert result.model == MODEL
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert server.requests[0].last_user_message == "  explain\n\tthis   code please  "


@pytest.mark.asyncio
async def test_default_content_is_cut_to_sixty_characters(client):
    result = await ask(client, "x" * 200)

    assert result.choices[0].message.content == f"[{MODEL}] " + "x" * 60


@pytest.mark.asyncio
async def test_scripted_replies_are_consumed_in_order_model_queue_first(server, client):
    server.script("*", Reply(content="any"))
    server.script(MODEL, Reply(content="one"), Reply(content="two"))

    answers = [(await ask(client)).choices[0].message.content for _ in range(4)]

    assert answers == ["one", "two", "any", f"[{MODEL}] hi"]


@pytest.mark.asyncio
async def test_queues_are_per_model(server, client):
    server.script(OTHER, Reply(content="for other"))

    assert (await ask(client, model=MODEL)).choices[0].message.content == f"[{MODEL}] hi"
    assert (await ask(client, model=OTHER)).choices[0].message.content == "for other"
    assert [r.model for r in server.requests_for(OTHER)] == [OTHER]


@pytest.mark.asyncio
async def test_default_reply_applies_until_cleared(server, client):
    server.set_default("*", Reply(status=500))

    for _ in range(2):
        with pytest.raises(HttpResponseError) as err:
            await ask(client)
        assert err.value.status_code == 500
        assert err.value.error.code == "InternalServerError"

    server.clear_default("*")
    assert (await ask(client)).choices[0].message.content == f"[{MODEL}] hi"


@pytest.mark.asyncio
async def test_responder_computes_content_from_the_request(server, client):
    server.set_responder(MODEL, lambda body: f"{len(body['messages'])} messages")

    result = await client.complete(
        messages=[{"role": "system", "content": "be brief"}, *HI], model=MODEL
    )

    assert result.choices[0].message.content == "2 messages"


@pytest.mark.asyncio
async def test_finish_reason_and_token_counts_are_scriptable(server, client):
    server.script(
        MODEL,
        Reply(content="trunc", finish_reason="length", prompt_tokens=100, completion_tokens=7),
    )

    result = await ask(client)

    assert result.choices[0].finish_reason == CompletionsFinishReason.TOKEN_LIMIT_REACHED
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (100, 107)


@pytest.mark.asyncio
async def test_latency_delays_the_answer(server, client):
    server.script(MODEL, Reply(latency=0.2))

    started = time.monotonic()
    await ask(client)

    assert time.monotonic() - started >= 0.2


# --------------------------------------------------------------------------- errors


@pytest.mark.asyncio
async def test_401_raises_client_authentication_error(server, client):
    server.script(MODEL, Reply(status=401))

    with pytest.raises(ClientAuthenticationError) as err:
        await ask(client)

    assert err.value.error.code == "unauthorized"


@pytest.mark.asyncio
async def test_404_raises_resource_not_found_with_unknown_model(server, client):
    server.script("*", Reply(status=404))

    with pytest.raises(ResourceNotFoundError) as err:
        await ask(client, model="nobody/nothing")

    assert err.value.error.code == "unknown_model"
    assert "nobody/nothing" in err.value.error.message


@pytest.mark.asyncio
async def test_429_carries_retry_after_and_limit_type(server, client):
    server.script(MODEL, Reply(status=429, retry_after=7))
    seen: dict[str, str] = {}

    with pytest.raises(HttpResponseError) as err:
        await ask(client, raw_response_hook=lambda r: seen.update(r.http_response.headers))

    assert err.value.status_code == 429
    assert err.value.error.code == "RateLimitReached"
    assert err.value.response.headers["Retry-After"] == "7"
    assert seen["x-ratelimit-type"] == "UserByModelByMinute"


@pytest.mark.asyncio
async def test_410_says_github_models_was_retired(server, client):
    server.script(MODEL, Reply(status=410))

    with pytest.raises(HttpResponseError) as err:
        await ask(client)

    assert err.value.status_code == 410
    assert "GitHub Models" in err.value.error.message
    assert "retire" in err.value.error.message


@pytest.mark.asyncio
async def test_error_code_message_and_headers_are_scriptable(server, client):
    server.script(
        MODEL,
        Reply(status=503, error_code="Busy", error_message="try later", headers={"x-a": "1"}),
    )

    with pytest.raises(HttpResponseError) as err:
        await ask(client)

    assert (err.value.error.code, err.value.error.message) == ("Busy", "try later")
    assert err.value.response.headers["x-a"] == "1"


@pytest.mark.asyncio
async def test_malformed_body_raises_decode_error(server, client):
    server.script(MODEL, Reply(malformed=True))

    with pytest.raises(DecodeError):
        await ask(client)


@pytest.mark.asyncio
async def test_drop_closes_the_connection_without_a_response(server, client):
    server.script(MODEL, Reply(drop=True))

    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        await ask(client)

    # Nothing was sent, and the server carries on.
    assert sum(server.status_counts.values()) == 0
    assert (await ask(client)).choices[0].message.content == f"[{MODEL}] hi"
    assert len(server.requests) == 2


@pytest.mark.asyncio
async def test_a_failing_responder_becomes_a_500_and_the_server_survives(server, client, caplog):
    def boom(body: dict[str, Any]) -> str:
        raise RuntimeError("responder bug")

    server.set_responder(MODEL, boom)
    with caplog.at_level(logging.CRITICAL, logger="aurelis.testing.server"):
        with pytest.raises(HttpResponseError) as err:
            await ask(client)

    assert err.value.status_code == 500
    assert err.value.error.code == "InternalServerError"
    assert (await ask(client, model=OTHER)).choices[0].message.content == f"[{OTHER}] hi"


# --------------------------------------------------------------------------- auth


@pytest.mark.asyncio
async def test_token_mismatch_gets_401_and_the_right_token_passes():
    async with ModelServer(token="secret") as srv:
        async with make_client(srv, "wrong") as bad, make_client(srv, "secret") as good:
            with pytest.raises(ClientAuthenticationError):
                await ask(bad)
            result = await ask(good)

    assert result.choices[0].message.content == f"[{MODEL}] hi"
    assert srv.requests[1].headers["Authorization"] == "Bearer secret"
    assert srv.status_counts == {401: 1, 200: 1}


# --------------------------------------------------------------------------- streaming


@pytest.mark.asyncio
async def test_streaming_yields_the_content_in_chunks(server, client):
    server.script(MODEL, Reply(content="def add(a, b):\n    return a + b\n", chunk_size=8))

    stream = await ask(client, stream=True)
    updates = [update async for update in stream]

    pieces = [u.choices[0].delta.content for u in updates if u.choices[0].delta.content]
    assert "".join(pieces) == "def add(a, b):\n    return a + b\n"
    assert len(pieces) == 4 and all(len(p) <= 8 for p in pieces)
    assert updates[-1].choices[0].finish_reason == CompletionsFinishReason.STOPPED
    assert updates[-1].usage.total_tokens > 0
    assert server.requests[0].stream is True


@pytest.mark.asyncio
async def test_client_leaving_mid_stream_does_not_break_the_server(server, client, caplog):
    server.script(MODEL, Reply(content="x" * 400, chunk_size=4, stream_chunk_delay=0.01))

    with caplog.at_level(logging.WARNING):
        stream = await ask(client, stream=True)
        first = await stream.__anext__()
        await stream.aclose()
        await asyncio.sleep(0.1)

    assert first.choices[0].delta.content == "xxxx"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert server.in_flight == 0
    assert (await ask(client)).choices[0].message.content == f"[{MODEL}] hi"


# --------------------------------------------------------------------------- limits and load


@pytest.mark.asyncio
async def test_rate_limit_allows_three_per_minute_then_429s(server, client):
    server.enforce_rate_limit(MODEL, per_minute=3)
    remaining: list[str] = []

    def hook(response: Any) -> None:
        remaining.append(response.http_response.headers.get("x-ratelimit-remaining-requests"))

    for _ in range(3):
        await ask(client, raw_response_hook=hook)
    with pytest.raises(HttpResponseError) as err:
        await ask(client)

    assert remaining == ["2", "1", "0"]
    assert err.value.status_code == 429
    headers = err.value.response.headers
    assert 0 < int(headers["Retry-After"]) <= 60
    assert headers["x-ratelimit-type"] == "UserByModelByMinute"
    # Limits are per model: another model is unaffected.
    assert (await ask(client, model=OTHER)).choices[0].message.content == f"[{OTHER}] hi"


@pytest.mark.asyncio
async def test_daily_limit_reports_its_own_type(server, client):
    server.enforce_rate_limit(MODEL, per_minute=10, per_day=1)

    await ask(client)
    with pytest.raises(HttpResponseError) as err:
        await ask(client)

    assert err.value.response.headers["x-ratelimit-type"] == "UserByModelByDay"
    assert int(err.value.response.headers["Retry-After"]) > 3600


@pytest.mark.asyncio
async def test_concurrency_is_tracked(server, client):
    server.set_default("*", Reply(latency=0.2))

    await asyncio.gather(*(ask(client) for _ in range(3)))

    assert server.max_concurrent == 3
    assert server.in_flight == 0


@pytest.mark.asyncio
async def test_concurrent_limit_refuses_the_extra_request(server, client):
    server.enforce_rate_limit(MODEL, concurrent=1)
    server.set_default(MODEL, Reply(latency=0.2))

    results = await asyncio.gather(ask(client), ask(client), return_exceptions=True)

    errors = [r for r in results if isinstance(r, HttpResponseError)]
    assert len(errors) == 1 and errors[0].status_code == 429
    assert errors[0].response.headers["x-ratelimit-type"] == "concurrent"
    assert server.status_counts == {200: 1, 429: 1}


@pytest.mark.asyncio
async def test_reset_forgets_scripts_limits_and_records(server, client):
    server.script(MODEL, Reply(status=500))
    server.enforce_rate_limit(MODEL, per_minute=0)
    server.set_responder("*", lambda body: "fixed")
    with pytest.raises(HttpResponseError):
        await ask(client)

    server.reset()

    assert (server.requests, server.status_counts, server.max_concurrent) == ([], {}, 0)
    assert (await ask(client)).choices[0].message.content == f"[{MODEL}] hi"


@pytest.mark.asyncio
async def test_stop_ends_requests_in_flight_at_once():
    srv = await ModelServer().start()
    srv.set_default("*", Reply(latency=30))
    async with make_client(srv) as c:
        pending = asyncio.ensure_future(ask(c))
        await asyncio.sleep(0.1)
        assert srv.in_flight == 1

        started = time.monotonic()
        await srv.stop()

        assert time.monotonic() - started < 0.5
        with pytest.raises((ServiceRequestError, ServiceResponseError)):
            await pending
    assert srv.in_flight == 0


# --------------------------------------------------------------------------- other routes


@pytest.mark.asyncio
async def test_openai_style_paths_and_bad_requests(server):
    async with aiohttp.ClientSession() as http:
        for path in ("/v1/chat/completions", "/models/chat/completions"):
            async with http.post(server.url + path, json={"model": MODEL, "messages": HI}) as r:
                assert r.status == 200
                assert (await r.json())["object"] == "chat.completion"
        async with http.post(server.url + "/chat/completions", data=b"{not json") as r:
            assert r.status == 400
            assert (await r.json())["error"]["code"] == "bad_request"
        async with http.get(server.url + "/nowhere") as r:
            assert r.status == 404
            assert "error" in await r.json()


@pytest.mark.asyncio
async def test_control_endpoint_scripts_lists_and_resets(server, client):
    script = {
        "queues": {MODEL: [{"content": "scripted", "latency": 0.01}]},
        "responses": {"*": "r"},
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(server.url + "/_aurelis/script", json=script) as r:
            assert r.status == 200
        answers = [(await ask(client)).choices[0].message.content for _ in range(2)]
        async with http.get(server.url + "/_aurelis/requests") as r:
            listed = await r.json()
        async with http.post(
            server.url + "/_aurelis/script", json={"queues": {"m": [{"x": 1}]}}
        ) as r:
            assert r.status == 400
        async with http.post(server.url + "/_aurelis/reset") as r:
            assert r.status == 200

    assert answers == ["scripted", "r"]
    assert [(e["model"], e["path"], e["stream"]) for e in listed] == [
        (MODEL, "/chat/completions", False)
    ] * 2
    assert listed[0]["body"]["messages"] == HI
    assert server.requests == []


# --------------------------------------------------------------------------- other ways to run


def test_thread_mode_serves_a_synchronous_client():
    srv = ModelServer().start_in_thread()
    try:
        srv.script(MODEL, Reply(content="from thread"))
        with SyncChatCompletionsClient(
            endpoint=srv.url, credential=AzureKeyCredential("k"), retry_total=0
        ) as sync_client:
            result = sync_client.complete(messages=HI, model=MODEL)
    finally:
        srv.stop_thread()

    assert result.choices[0].message.content == "from thread"
    assert srv.status_counts == {200: 1}


@pytest.mark.asyncio
async def test_cli_prints_ready_and_answers_from_its_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"responses": {"*": "from cli"}, "token": "tok"}))
    env = {**os.environ, "PYTHONPATH": str(SERVER_DIR)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "aurelis.testing.model_server", "--port", "0",
        "--script", str(script),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=10)).decode()
        assert line.startswith("READY http://127.0.0.1:")
        url = line.split()[1]
        async with ChatCompletionsClient(
            endpoint=url, credential=AzureKeyCredential("tok"), retry_total=0
        ) as cli_client:
            result = await cli_client.complete(messages=HI, model=MODEL)
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/_aurelis/requests") as r:
                listed = await r.json()
    finally:
        proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=10)

    assert result.choices[0].message.content == "from cli"
    assert [e["model"] for e in listed] == [MODEL]
    assert proc.returncode == 0
    assert b"Traceback" not in stderr
