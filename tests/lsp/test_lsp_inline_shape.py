"""Inline answers shaped like code, through the real server and the loopback model: greedy
unless the user sets a temperature; an answer cut by a limit never shows a fragment."""

from __future__ import annotations

from pathlib import Path

from tests.lsp.conftest import Starter
from tests.lsp.harness import end_position

from aurelis.testing import ModelServer, Reply


async def _suggest(start_lsp: Starter, project: Path, **options: object) -> list[str]:
    client = await start_lsp(**options)
    text = "def check(value):\n    if not value:\n        return False\n    "
    uri = client.open(project / "pkg" / "shape.py", text)
    result = await client.inline(uri, end_position(text))
    return [item.insert_text for item in result.items]


async def test_inline_completion_is_greedy_by_default(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="return True"))
    await _suggest(start_lsp, project)
    assert model.requests[-1].body["temperature"] == 0.0


async def test_a_temperature_the_user_sets_is_used(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="return True"))
    await _suggest(start_lsp, project, init_options={"inlineCompletion": {"temperature": 0.4}})
    assert model.requests[-1].body["temperature"] == 0.4


async def test_an_answer_cut_by_the_token_limit_shows_no_fragment(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="if is_", finish_reason="length"))
    assert await _suggest(start_lsp, project) == []


async def test_a_cut_answer_keeps_what_stands(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="return normalize(value, strict", finish_reason="length"))
    assert await _suggest(start_lsp, project) == ["return normalize(value"]
