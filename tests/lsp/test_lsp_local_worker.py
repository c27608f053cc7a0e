"""A crash of the embedded model's process costs the language server one answer, not its
life: the request in flight is answered, the next goes to the fallback, the status says
what happened, and the restarted worker serves after that."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from tests.lsp.harness import AurelisTestClient, end_position

from aurelis.testing import ModelServer, Reply

# Inline completions on the embedded model, falling back to the loopback endpoint; one
# thread, as llama.cpp's spinning threads crawl when the shared machine is busy.
LOCAL_FIRST = {
    "AURELIS_ROUTING": json.dumps({"code_completion": "local"}),
    "AURELIS_FALLBACK_CHAINS": json.dumps({"local": ["gpt-4o-mini"]}),
    "AURELIS_LOCAL_THREADS": "1",
}


def _local(status: dict[str, Any]) -> dict[str, Any]:
    local = status.get("local_model")
    return local if isinstance(local, dict) else {}


@pytest.mark.local_model
async def test_a_model_worker_killed_mid_request_costs_one_answer_not_the_server(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(env=LOCAL_FIRST)
    ready = await lsp.wait_for_status(lambda s: _local(s).get("state") == "ready")
    first_worker = _local(ready)["pid"]
    assert isinstance(first_worker, int)
    model.set_default("*", Reply(content="a + b"))
    text = "def add(a, b):\n    return "
    uri = lsp.open(project / "pkg" / "adder.py", text)

    in_flight = asyncio.create_task(lsp.inline(uri, end_position(text)))
    await asyncio.sleep(0.05)
    os.kill(first_worker, signal.SIGSEGV)
    await in_flight  # answered (from the fallback or empty), inside the harness's timeout

    # Said as the last error, which the editors' status items show.
    crashed = await lsp.wait_for_status(lambda s: "SIGSEGV" in str(s.get("last_error")))
    assert _local(crashed)["state"] == "failed" and "SIGSEGV" in _local(crashed)["error"]
    served_remotely = len(model.requests)
    # Each request at a new place, so none is answered from the inline cache.
    answer = await lsp.inline(uri, lsp.type_at_end(uri, " "))  # the worker is still down
    assert len(model.requests) > served_remotely  # the fallback answered
    assert any("a + b" in str(item.insert_text) for item in answer.items)

    back = await lsp.wait_for_status(
        lambda s: _local(s).get("state") == "ready" and _local(s).get("pid") != first_worker
    )
    assert back["local_model"]["error"] is None and back["last_error"] is None
    served_remotely = len(model.requests)
    await lsp.inline(uri, lsp.type_at_end(uri, "a"))
    assert len(model.requests) == served_remotely  # the restarted worker answered
    crash_reports = [s for s in lsp.statuses if "SIGSEGV" in str(_local(s).get("error"))]
    assert len({_local(s)["error"] for s in crash_reports}) == 1  # said once
