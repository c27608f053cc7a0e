"""Speculation: once a suggestion is shown, the one for after accepting it is computed in
the background, so accepting shows the next suggestion from the cache. A speculative call
never takes a rate-limit slot the user's own request needs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from lsprotocol import types
from tests.lsp.harness import AurelisTestClient, recorded_prompt

from aurelis.testing import ModelServer, Reply

CODE = "def add(a, b):\n    return \n\n\nprint(add(1, 2))\n"
CURSOR = types.Position(line=1, character=11)
AFTER = types.Position(line=1, character=16)  # after accepting "a + b"
SPECULATE = {"AURELIS_INLINE_SPECULATION": "always"}


def _insert_texts(result: types.InlineCompletionList | None) -> list[str]:
    return [] if result is None else [str(item.insert_text) for item in result.items]


async def test_accepting_a_suggestion_shows_the_next_one_from_the_cache(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(env=SPECULATE)
    model.script("*", Reply(content="a + b"), Reply(content="  # the sum"))
    uri = lsp.open(project / "pkg" / "spec.py", CODE)

    first = await lsp.inline(uri, CURSOR)
    await lsp.wait_for(lambda: len(model.requests) == 2)  # the speculative call

    assert _insert_texts(first) == ["a + b"]
    assert "return a + b<|CURSOR|>" in recorded_prompt(model, 1)
    await asyncio.sleep(0.2)  # let the speculative answer reach the cache
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), "a + b")  # accept
    after = await lsp.inline(uri, AFTER, invoked=False)

    assert _insert_texts(after) == ["  # the sum"]
    assert len(model.requests) == 2  # answered without another model call


async def test_a_request_for_the_speculated_position_waits_for_the_speculation(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(env=SPECULATE)
    model.script("*", Reply(content="a + b"), Reply(content="  # slow guess", latency=0.6))
    uri = lsp.open(project / "pkg" / "wait.py", CODE)

    await lsp.inline(uri, CURSOR)
    await lsp.wait_for(lambda: len(model.requests) == 2)
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), "a + b")  # accepted at once
    after = await lsp.inline(uri, AFTER)

    assert _insert_texts(after) == ["  # slow guess"]
    assert len(model.requests) == 2  # one speculative call, not a second call


async def test_remote_speculation_is_off_by_default(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="a + b"))
    uri = lsp.open(project / "pkg" / "default.py", CODE)

    await lsp.inline(uri, CURSOR)
    await asyncio.sleep(0.5)

    assert len(model.requests) == 1  # a guess would spend the free tier's requests


async def test_speculation_leaves_the_last_rate_limit_slot_to_the_user(
    start_lsp, model: ModelServer, project: Path
) -> None:
    limits = {"codestral-2501": {"per_minute": 2}}
    lsp: AurelisTestClient = await start_lsp(
        env={**SPECULATE, "AURELIS_RATE_LIMITS": json.dumps(limits)}
    )
    model.set_default("*", Reply(content="a + b"))
    uri = lsp.open(project / "pkg" / "limited.py", CODE)

    await lsp.inline(uri, CURSOR)
    await asyncio.sleep(1.0)  # time for a speculation to start, were it allowed
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), "b")
    second = await lsp.inline(uri, types.Position(line=1, character=12))

    # Had the guess taken the minute's second request, this one would wait for the window.
    assert _insert_texts(second) == ["a + b"]
    assert len(model.requests) == 2
