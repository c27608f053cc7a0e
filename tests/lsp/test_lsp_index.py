"""The repository index behind the prompts, end to end: the real server indexes the
workspace in the background, and the loopback model server's recorded requests show what
retrieval sent (and what it never sends)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from lsprotocol import types
from tests.lsp.conftest import Starter
from tests.lsp.harness import AurelisTestClient, end_position, recorded_prompt

from aurelis.testing import ModelServer, Reply

GITHUB_TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
ROWS = '''"""Invoice rows."""


def normalize_invoice_rows(rows, currency):
    """Rows in one currency, sorted by date."""
    return sorted((convert(row, currency) for row in rows), key=lambda row: row.date)
'''


def _index_ready(status: dict[str, Any]) -> bool:
    roots = status.get("index") or {}
    return bool(roots) and all(root["state"] == "ready" for root in roots.values())


async def _indexed_server(start_lsp: Starter, project: Path) -> AurelisTestClient:
    (project / "billing").mkdir()
    (project / "billing" / "rows.py").write_text(ROWS)
    (project / "reports").mkdir()
    client = await start_lsp()
    await client.wait_for_status(_index_ready)
    return client


async def _complete_after(client: AurelisTestClient, path: Path, text: str) -> None:
    uri = client.open(path, text)
    await client.inline(uri, end_position(text))


async def test_a_definition_from_a_closed_unimported_file_reaches_the_prompt(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ows(rows, 'EUR')"))
    client = await _indexed_server(start_lsp, project)

    await _complete_after(client, project / "reports" / "monthly.py", "totals = normalize_inv")

    prompt = recorded_prompt(model)
    assert "def normalize_invoice_rows(rows, currency):" in prompt
    assert "billing/rows.py" in prompt  # the snippet says where it comes from


async def test_a_secret_in_an_indexed_file_never_reaches_the_model(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="()"))
    (project / "settings_store.py").write_text(
        f'def load_settings_store():\n    github_token = "{GITHUB_TOKEN}"\n    return 1\n'
    )
    client = await _indexed_server(start_lsp, project)

    await _complete_after(client, project / "reports" / "use.py", "value = load_settings_st")

    prompt = recorded_prompt(model)
    assert "def load_settings_store():" in prompt  # the file was retrieved...
    assert "github_token = " in prompt
    for request in model.requests:
        assert GITHUB_TOKEN not in str(request.body)  # ...with its secret masked


async def test_a_saved_edit_is_found_by_the_next_request(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="(rows)"))
    client = await _indexed_server(start_lsp, project)
    rows = client.open(project / "billing" / "rows.py")
    client.type_at_end(rows, "\n\ndef summarize_invoice_months(rows):\n    return {}\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=rows))
    )
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=rows))
    )

    await _complete_after(client, project / "reports" / "summary.py", "months = summarize_inv")

    assert "def summarize_invoice_months(rows):" in recorded_prompt(model)


async def test_the_index_lives_in_the_cache_directory_owner_only(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    (project / "keys.py").write_text(f'TOKEN = "{GITHUB_TOKEN}"\n')
    client = await _indexed_server(start_lsp, project)
    await client.shutdown_session()  # the index is saved at the latest on shutdown

    saved, modes, content = _saved_index(Path(os.environ["AURELIS_CACHE_DIR"]))
    assert modes == (0o600, 0o700)  # the file, its directory
    assert "normalize_invoice_rows" in content
    assert GITHUB_TOKEN not in content
    assert not _workspace_files_named(project, "index")


def _saved_index(cache: Path) -> tuple[Path, tuple[int, int], str]:
    (saved,) = (cache / "index").glob("*.json")
    modes = (stat.S_IMODE(saved.stat().st_mode), stat.S_IMODE(saved.parent.stat().st_mode))
    return saved, modes, saved.read_text()


def _workspace_files_named(project: Path, part: str) -> list[Path]:
    return [path for path in project.rglob("*") if part in path.name]


async def test_with_open_files_only_nothing_closed_is_retrieved_or_saved(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="()"))
    (project / "billing").mkdir()
    (project / "billing" / "rows.py").write_text(ROWS)
    (project / "billing" / "open_one.py").write_text("def open_helper_total(x):\n    return x\n")
    client = await start_lsp(init_options={"index": {"openFilesOnly": True}})
    client.open(project / "billing" / "open_one.py")

    await _complete_after(client, project / "use.py", "a = open_helper_to")
    await _complete_after(client, project / "use2.py", "b = normalize_inv")

    assert "def open_helper_total(x):" in recorded_prompt(model, 0)  # open: retrieved
    assert "normalize_invoice_rows" not in recorded_prompt(model, 1)  # closed: never read
    assert not _index_files(Path(os.environ["AURELIS_CACHE_DIR"]))


def _index_files(cache: Path) -> list[Path]:
    return list((cache / "index").glob("*.json"))


def _many_files(root: Path, count: int) -> None:
    for number in range(count):
        folder = root / "vendored" / f"part_{number // 200:03d}"
        if number % 200 == 0:
            folder.mkdir(parents=True)
        (folder / f"module_{number}.py").write_text(
            f"def compute_{number}(values):\n    return sum(values) + {number}\n"
        )


async def test_typing_in_a_20000_file_workspace_is_answered_while_it_is_indexed(
    start_lsp: Starter, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="(values)"))
    _many_files(project, 20_000)
    client = await start_lsp()
    uri = client.open(project / "typing.py", "")

    # Automatic requests, one per keystroke: each is answered within the inline deadline
    # (2 s; past it the editor gets nothing) although the index is still being built.
    answers = []
    for char in "result = compute_total":
        position = client.type_at_end(uri, char)
        answers.append(await client.inline(uri, position, invoked=False))
    built = [s for s in client.statuses if _index_ready(s)]

    assert built == [], "the index was built before the typing ended: nothing was tested"
    empty = [index for index, answer in enumerate(answers) if not answer.items]
    assert empty == [], f"keystrokes {empty} got no suggestion while the index was built"
    assert len(model.requests) >= 10
