"""Inline completion has its own deadline: on a hung endpoint the editor gets an empty
result within the inline deadline (not the request deadline of minutes), the upstream call
is cancelled (its connection closed), and the next completion works."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lsprotocol import types
from tests.lsp.conftest import Starter
from tests.lsp.harness import AurelisTestClient

from aurelis.testing import ModelServer, Reply

CODE = "def add(a, b):\n    return \n"
CURSOR = types.Position(line=1, character=11)
HUNG = 60.0  # seconds the endpoint sleeps before answering


async def _start(start_lsp: Starter) -> AurelisTestClient:
    env = {"AURELIS_INLINE_DEADLINE_MS": "1000", "AURELIS_INLINE_INVOKED_DEADLINE_MS": "2000"}
    client: AurelisTestClient = await start_lsp(
        env=env, init_options={"inlineCompletion": {"debounceMs": 0}}
    )
    return client


async def _upstream_closed(model: ModelServer, within: float = 5.0) -> bool:
    ends = time.monotonic() + within
    while time.monotonic() < ends:
        if model.in_flight == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_an_invoked_completion_on_a_hung_endpoint_ends_at_its_deadline(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    lsp = await _start(start_lsp)
    model.set_default("*", Reply(content="a + b", latency=HUNG))
    uri = lsp.open(project / "pkg" / "hung.py", CODE)

    began = time.monotonic()
    result = await lsp.inline(uri, CURSOR, invoked=True)
    elapsed = time.monotonic() - began

    assert result is None or not result.items
    assert 2.0 <= elapsed < 15.0  # the invoked deadline, far from the endpoint's 60 s
    assert len(model.requests) == 1
    assert await _upstream_closed(model), "the upstream call was left running"
    model.set_default("*", Reply(content="a + b"))
    again = await lsp.inline(uri, CURSOR, invoked=True)
    assert again is not None and [item.insert_text for item in again.items] == ["a + b"]


async def test_an_automatic_completion_has_the_shorter_deadline(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    lsp = await _start(start_lsp)
    model.set_default("*", Reply(content="a + b", latency=HUNG))
    uri = lsp.open(project / "pkg" / "typing.py", CODE)

    began = time.monotonic()
    result = await lsp.inline(uri, CURSOR, invoked=False)
    elapsed = time.monotonic() - began

    assert result is None or not result.items
    assert 1.0 <= elapsed < 2.0 + 10.0  # the automatic deadline, shorter than the invoked
    assert await _upstream_closed(model)
