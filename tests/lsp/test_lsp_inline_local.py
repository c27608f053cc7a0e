"""The embedded model behind inline completion: loaded in the background when inline
completions route to it (not on the first keystroke), reported in `aurelis/status`, and
its suggestions pass the quality gates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.lsp.harness import AurelisTestClient, end_position

from aurelis.testing import ModelServer, Reply

# One thread: llama.cpp's spinning threads crawl when the shared machine is busy.
OFFLINE = {"AURELIS_PROVIDER": "local", "AURELIS_LOCAL_THREADS": "1"}


def _state(status: dict[str, Any]) -> str | None:
    local = status.get("local_model")
    return local.get("state") if isinstance(local, dict) else None


@pytest.mark.local_model
async def test_the_local_model_loads_at_start_when_inline_completions_use_it(
    start_lsp, model: ModelServer
) -> None:
    lsp: AurelisTestClient = await start_lsp(env=OFFLINE)

    ready = await lsp.wait_for_status(lambda s: _state(s) == "ready")

    assert ready["local_model"]["error"] is None
    assert any(_state(s) == "loading" for s in lsp.statuses)  # said so while loading
    assert not any(s["busy"] for s in lsp.statuses)  # no request was needed for it


@pytest.mark.local_model
async def test_a_local_model_that_is_only_a_fallback_waits_until_needed(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(env={"AURELIS_LOCAL_FALLBACK": "true"})
    model.set_default("*", Reply(content="1"))
    uri = lsp.open(project / "pkg" / "remote.py", "x = ")

    await lsp.inline(uri, types.Position(line=0, character=4))
    status = await lsp.wait_for_status(lambda s: _state(s) is not None)

    assert _state(status) == "not_loaded"


@pytest.mark.local_model
async def test_local_preload_always_loads_a_fallback_model_at_start(
    start_lsp, model: ModelServer
) -> None:
    lsp: AurelisTestClient = await start_lsp(
        env={"AURELIS_LOCAL_FALLBACK": "true", "AURELIS_LOCAL_PRELOAD": "always"}
    )

    await lsp.wait_for_status(lambda s: _state(s) == "ready")


@pytest.mark.local_model
async def test_a_block_body_from_the_local_model_is_indented_once(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(env=OFFLINE)
    text = "import math\n\n\ndef summarize(r):\n    "
    uri = lsp.open(project / "pkg" / "body.py", text)
    await lsp.wait_for_status(lambda s: _state(s) == "ready")

    result = await lsp.inline(uri, end_position(text))

    assert model.requests == []
    for item in result.items:
        assert_continues_block("    " + str(item.insert_text))


def assert_continues_block(code: str) -> None:
    """Each later line sits in the block of the line before: deeper only after a colon,
    never left of the function body."""
    lines = [line for line in code.split("\n") if line.strip()]
    for previous, line in zip(lines, lines[1:], strict=False):
        before = len(previous) - len(previous.lstrip())
        indent = len(line) - len(line.lstrip())
        allowed = before + 4 if previous.rstrip().endswith(":") else before
        assert 4 <= indent <= allowed and indent % 4 == 0, code
