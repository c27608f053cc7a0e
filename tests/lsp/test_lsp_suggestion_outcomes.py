"""Suggestion outcomes end to end: the server over stdio hands out items with an id and an
accept command, counts what the editor reports, and measures retention after edits."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

from lsprotocol import types
from tests.lsp.harness import AurelisTestClient

from aurelis.models.suggestions.counts import SuggestionRow, summarise
from aurelis.models.suggestions.local_file import OutcomeFiles
from aurelis.testing import ModelServer, Reply

CODE = "def total(first_value, second_value):\n    return \n"
CURSOR = types.Position(line=1, character=11)
SUGGESTION = "first_value + second_value"
#: Short retention checks so the test does not wait 2 minutes.
QUICK_CHECKS = {"AURELIS_SUGGESTION_RETENTION_CHECKS": "[0.3, 0.8]"}


def _outcome_files() -> OutcomeFiles:
    return OutcomeFiles(Path(os.environ["XDG_DATA_HOME"]) / "aurelis" / "suggestions")


def _codestral_row() -> SuggestionRow | None:
    files = _outcome_files()
    days = sorted(path.stem for path in files.folder.glob("*.jsonl"))
    tally: dict[str, int] = {}
    for counts in files.read(days).values():
        for name, count in counts.items():
            tally[name] = tally.get(name, 0) + count
    rows = [row for row in summarise(tally) if row.model == "codestral-2501"]
    return rows[0] if rows else None


async def _offered(lsp: AurelisTestClient, model: ModelServer, project: Path) -> tuple[str, Any]:
    model.set_default("*", Reply(content=SUGGESTION))
    uri = lsp.open(project / "pkg" / "totals.py", CODE)
    result = await lsp.inline(uri, CURSOR)
    assert [item.insert_text for item in result.items] == [SUGGESTION]
    return uri, result.items[0]


async def test_each_item_carries_an_id_and_the_accept_command(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    _, item = await _offered(lsp, model, project)

    assert item.command.command == "aurelis.acceptSuggestion"
    item_id = item.command.arguments[0]
    assert isinstance(item_id, str) and len(item_id) >= 16
    commands = lsp.initialize_result.capabilities.execute_command_provider.commands
    assert "aurelis.acceptSuggestion" in commands


async def test_an_accepted_suggestion_half_kept_after_an_edit_counts_half_retained(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp = await start_lsp(env=QUICK_CHECKS)
    uri, item = await _offered(lsp, model, project)
    lsp.protocol.notify("aurelis/didShowCompletion", {"id": item.command.arguments[0]})
    # The editor inserts the text, then runs the item's command (as VS Code does on Tab).
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), SUGGESTION)
    await lsp.command(item.command.command, *item.command.arguments)
    # The user keeps "first_value" and deletes " + second_value".
    start = types.Position(line=1, character=11 + len("first_value"))
    end = types.Position(line=1, character=11 + len(SUGGESTION))
    lsp.edit(uri, types.Range(start=start, end=end), "")

    row = await lsp.wait_for(
        lambda: (found := _codestral_row()) and found.checked_chars and found, within=15
    )

    assert (row.offered, row.shown, row.accepted) == (1, 1, 1)
    assert row.accepted_chars == len(SUGGESTION)
    assert row.retained_chars == len("first_value")
    assert row.retained_chars_early == len("first_value")
    assert row.acceptance_rate == 1.0
    assert row.latency_p50_ms is not None


async def test_outcome_files_are_private_and_hold_no_code(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp = await start_lsp(env=QUICK_CHECKS)
    uri, item = await _offered(lsp, model, project)
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), SUGGESTION)
    await lsp.command(item.command.command, *item.command.arguments)

    await lsp.wait_for(lambda: (row := _codestral_row()) and row.checked_chars, within=15)

    for path in _outcome_files().folder.glob("*.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text(encoding="utf-8")
        assert "first_value" not in text and "totals.py" not in text
        assert "codestral-2501|code_completion|python|chat|accepted" in text


async def test_a_partial_accept_then_an_unknown_id_change_nothing_else(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp = await start_lsp(env=QUICK_CHECKS)
    uri, item = await _offered(lsp, model, project)
    item_id = item.command.arguments[0]
    partial = {"id": item_id, "acceptedLength": 6}
    lsp.protocol.notify("aurelis/didPartiallyAcceptCompletion", partial)
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), SUGGESTION[:6])
    await lsp.command("aurelis.acceptSuggestion", "no-such-id")  # ignored, no error
    lsp.protocol.notify("aurelis/didShowCompletion", {"id": 42})  # wrong type: ignored

    row = await lsp.wait_for(
        lambda: (found := _codestral_row()) and found.checked_chars and found, within=15
    )

    assert (row.shown, row.accepted, row.partially_accepted) == (1, 0, 1)
    assert row.accepted_chars == 6
    assert row.retained_chars == 6


async def test_counts_are_written_when_the_editor_leaves_without_waiting(
    start_lsp, model: ModelServer, project: Path
) -> None:
    # Neovim sends `shutdown` and exits at once, closing our pipes: what was counted in
    # the last second (not yet written) must still reach the file as the process ends.
    lsp = await start_lsp()
    uri, item = await _offered(lsp, model, project)
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), SUGGESTION)
    await lsp.command(item.command.command, *item.command.arguments)
    server = lsp._server
    assert server is not None and server.stdin is not None
    server.stdin.close()  # the editor is gone: no shutdown, no exit

    await asyncio.wait_for(server.wait(), 30)

    row = _codestral_row()
    assert row is not None, "the counts died with the process"
    assert (row.offered, row.accepted, row.accepted_chars) == (1, 1, len(SUGGESTION))
