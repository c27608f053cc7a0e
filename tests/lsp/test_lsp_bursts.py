"""Bursts of invoked inline completions against a tight client-side rate limit.

Interactive inline completions never queue behind the limiter: with no slot free they are
answered at once (empty here: the local model is not loaded, and it is not loaded for
them), `aurelis/status` says the models are rate limited, and the endpoint never sees more
requests than the limits allow. A request that queued would wait for the one-minute window
(the 120 s deadline allows it), twice the bound the test waits.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from lsprotocol import types
from tests.lsp.conftest import Starter
from tests.lsp.harness import AurelisTestClient

from aurelis.testing import ModelServer, Reply

_MODELS = ("codestral-2501", "gpt-4o-mini", "mistral-nemo")
_PER_MINUTE = 2
_LIMITS = {
    model: {"per_minute": _PER_MINUTE, "per_day": None, "concurrent": None} for model in _MODELS
}
_ENV = {
    "AURELIS_RATE_LIMITS": json.dumps(_LIMITS),
    "AURELIS_LOCAL_FALLBACK": "true",
}
_BURST = 300
_BOUND = 30.0  # seconds; a queued request would wait for the window (60 s, within the deadline)


async def _burst(lsp: AurelisTestClient, uri: str, lines: int) -> list[object]:
    requests = [
        lsp.inline(uri, types.Position(line=index % lines, character=4)) for index in range(_BURST)
    ]
    return await asyncio.wait_for(asyncio.gather(*requests), _BOUND)


def _rate_limited(status: dict[str, object]) -> bool:
    return "rate limit" in str(status.get("last_error") or "")


async def test_a_burst_is_answered_at_once_and_never_exceeds_the_limits(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="value = 1", latency=0.05))
    lsp = await start_lsp(env=_ENV)
    text = "".join(f"def f{n}():\n    \n" for n in range(20))
    uri = lsp.open(project / "pkg" / "burst.py", text)

    results = await _burst(lsp, uri, 40)

    assert len(results) == _BURST
    assert all(isinstance(result, types.InlineCompletionList) for result in results)
    assert len(model.requests) <= _PER_MINUTE * len(_MODELS)
    assert model.status_counts.get(429, 0) == 0
    status = await lsp.wait_for_status(_rate_limited)
    assert status["models"]["codestral-2501"]["rate_limit_remaining"] == 0
    # The local model was not loaded for anyone typing: that takes seconds.
    assert (status.get("local_model") or {}).get("state") in (None, "not_loaded")


async def test_with_every_slot_taken_a_new_request_answers_empty_at_once(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="value = 1"))
    lsp = await start_lsp(env=_ENV)
    uri = lsp.open(project / "pkg" / "slots.py", "def a():\n    \n")
    for attempt in range(_PER_MINUTE * len(_MODELS)):
        lsp.edit(
            uri,
            types.Range(
                start=types.Position(line=2, character=0), end=types.Position(line=2, character=0)
            ),
            f"# {attempt}\n",
        )
        await lsp.inline(uri, types.Position(line=1, character=4))
    received = len(model.requests)

    result = await asyncio.wait_for(lsp.inline(uri, types.Position(line=0, character=0)), _BOUND)

    assert list(result.items) == []
    assert len(model.requests) == received
    await lsp.wait_for_status(_rate_limited)
