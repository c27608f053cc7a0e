"""Inline completion end to end: prompt, post-processing, debounce, supersede,
`$/cancelRequest` and the forwarding cache."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from tests.lsp.harness import AurelisTestClient, end_position, recorded_prompt

from aurelis.testing import ModelServer, Reply

CODE = "def add(a, b):\n    return \n\n\nprint(add(1, 2))\n"
CURSOR = types.Position(line=1, character=11)


def _insert_texts(result: types.InlineCompletionList | None) -> list[str]:
    if result is None:
        return []
    return [str(item.insert_text) for item in result.items]


async def test_invoked_completion_returns_the_cleaned_model_text(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="```python\nreturn a + b\n```"))
    uri = lsp.open(project / "pkg" / "new.py", CODE)

    result = await lsp.inline(uri, CURSOR)

    assert _insert_texts(result) == ["a + b"]
    assert result.items[0].range == types.Range(start=CURSOR, end=CURSOR)
    assert len(model.requests) == 1
    prompt = recorded_prompt(model)
    assert "def add(a, b):\n    return <|CURSOR|>\n\n\nprint(add(1, 2))" in prompt
    assert "pkg/new.py" in prompt


async def test_completion_request_uses_the_code_completion_route(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="a + b"))
    uri = lsp.open(project / "pkg" / "new.py", CODE)

    await lsp.inline(uri, CURSOR)

    assert model.requests[0].model == "mistral-ai/Codestral-2501"
    assert model.requests[0].body["max_tokens"] == 256


async def test_mid_line_completion_keeps_one_line_and_drops_the_repeated_suffix(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="a, b)\nprint('extra')"))
    uri = lsp.open(project / "pkg" / "new.py", "total = add()\n")

    result = await lsp.inline(uri, types.Position(line=0, character=12))

    assert _insert_texts(result) == ["a, b"]
    assert model.requests[0].body["max_tokens"] == 64


async def test_block_start_completion_is_multi_line_and_indented(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="result = a * b\nreturn result"))
    uri = lsp.open(project / "pkg" / "new.py", "class M:\n    def mul(self, a, b):\n        \n")

    result = await lsp.inline(uri, types.Position(line=2, character=8))

    assert _insert_texts(result) == ["result = a * b\n        return result"]


async def test_a_burst_of_automatic_requests_costs_at_most_two_model_calls(
    start_lsp, model: ModelServer, project: Path
) -> None:
    # A long debounce makes "the burst is faster than the debounce" hold on a loaded machine.
    lsp: AurelisTestClient = await start_lsp(init_options={"inlineCompletion": {"debounceMs": 500}})
    model.set_default("*", Reply(content="x"))
    uri = lsp.open(project / "pkg" / "burst.py", "value = ")
    pending = []
    for char in "abcdefghijklmnopqrst":  # 20 keystrokes, each followed by a request
        position = lsp.type_at_end(uri, char)
        pending.append(asyncio.ensure_future(lsp.inline(uri, position, invoked=False)))

    results = await asyncio.gather(*pending)

    assert 1 <= len(model.requests) <= 2
    assert _insert_texts(results[-1]) == ["x"]
    assert all(_insert_texts(result) == [] for result in results[:-2])
    assert "value = abcdefghijklmnopqrst<|CURSOR|>" in recorded_prompt(model)


async def test_invoked_requests_skip_the_debounce(
    start_lsp, model: ModelServer, project: Path
) -> None:
    # With a 10 s debounce an automatic request would outlast the test's patience.
    lsp: AurelisTestClient = await start_lsp(
        init_options={"inlineCompletion": {"debounceMs": 10000}}
    )
    model.set_default("*", Reply(content="42"))
    uri = lsp.open(project / "pkg" / "now.py", "answer = ")

    result = await asyncio.wait_for(lsp.inline(uri, types.Position(line=0, character=9)), 8)

    assert _insert_texts(result) == ["42"]


async def test_a_newer_request_supersedes_the_older_one_which_returns_empty(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.script("*", Reply(content="slow", latency=30), Reply(content="fast"))
    uri = lsp.open(project / "pkg" / "race.py", "x = ")
    older = asyncio.ensure_future(lsp.inline(uri, types.Position(line=0, character=4)))
    await lsp.wait_for(lambda: len(model.requests) == 1)

    position = lsp.type_at_end(uri, "1")
    newer = await lsp.inline(uri, position)

    # The older one was answered when the newer arrived, not after its 30 s model call.
    assert older.done()
    assert _insert_texts(await older) == []
    assert _insert_texts(newer) == ["fast"]
    # The superseded model call was abandoned, not left to run for 30 s.
    await lsp.wait_for(lambda: model.in_flight == 0)


async def test_cancel_request_cancels_the_model_call(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.script("*", Reply(content="never", latency=30))
    uri = lsp.open(project / "pkg" / "cancel.py", "y = ")
    pending = asyncio.ensure_future(
        lsp.inline(uri, types.Position(line=0, character=4), msg_id="inline-1")
    )
    await lsp.wait_for(lambda: model.in_flight == 1)

    lsp.cancel("inline-1")

    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    await lsp.wait_for(lambda: model.in_flight == 0)
    status = await lsp.wait_for_status(lambda s: not s["busy"])
    assert status["last_error"] is None
    model.set_default("*", Reply(content="1"))
    assert _insert_texts(await lsp.inline(uri, types.Position(line=0, character=4))) == ["1"]


async def test_typing_along_a_suggestion_is_answered_from_the_cache(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="a + b"))
    uri = lsp.open(project / "pkg" / "along.py", CODE)
    first = await lsp.inline(uri, CURSOR)
    assert _insert_texts(first) == ["a + b"]

    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), "a +")
    typed = types.Position(line=1, character=14)
    along = await lsp.inline(uri, typed, invoked=False)

    assert _insert_texts(along) == [" b"]
    assert along.items[0].range == types.Range(start=typed, end=typed)
    assert len(model.requests) == 1


async def test_typing_something_else_asks_the_model_again(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="a + b"))
    uri = lsp.open(project / "pkg" / "other.py", CODE)
    await lsp.inline(uri, CURSOR)

    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), "b")
    await lsp.inline(uri, types.Position(line=1, character=12))

    assert len(model.requests) == 2


async def test_disabled_inline_completion_never_calls_the_model(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(init_options={"inlineCompletion": {"enabled": False}})
    uri = lsp.open(project / "pkg" / "off.py", CODE)

    assert _insert_texts(await lsp.inline(uri, CURSOR)) == []
    assert model.requests == []


async def test_a_failing_model_gives_an_empty_list_and_a_status_error(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(status=401))
    uri = lsp.open(project / "pkg" / "fail.py", CODE)

    assert _insert_texts(await lsp.inline(uri, CURSOR)) == []

    status = await lsp.wait_for_status(lambda s: s["last_error"] is not None)
    assert "AURELIS_TOKEN" in status["last_error"]
    assert status["models"]["codestral-2501"]["healthy"] is False


async def test_env_files_get_no_completion_and_no_model_call(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(
        project / ".env", "API_KEY=sk-live-0123456789abcdefghij\nOTHER=", language="dotenv"
    )

    assert _insert_texts(await lsp.inline(uri, end_position(lsp.texts[uri]))) == []
    assert model.requests == []


@pytest.mark.local_model
async def test_offline_completion_runs_on_the_embedded_base_model(
    start_lsp, model: ModelServer, project: Path
) -> None:
    # One thread: llama.cpp's spinning threads crawl when the shared machine is busy.
    lsp: AurelisTestClient = await start_lsp(
        env={"AURELIS_PROVIDER": "local", "AURELIS_LOCAL_THREADS": "1"}
    )
    text = "def square(number):\n    return number *"
    uri = lsp.open(project / "pkg" / "square.py", text)

    result = await lsp.inline(uri, end_position(text))

    status = await lsp.wait_for_status(lambda s: not s["busy"] and s["offline"])
    assert any(s["busy"] for s in lsp.statuses)  # the local model was really called...
    assert status["last_error"] is None  # ...and answered
    assert status["models"]["local"]["healthy"] is True
    assert model.requests == []  # nothing left the machine
    [item] = result.items  # the plain prefix continues well (" number" when measured)
    assert str(item.insert_text).strip() and "\n" not in str(item.insert_text)
