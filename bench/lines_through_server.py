"""Next-line completion through a real language server of any checkout (not a test).

    PYTHONPATH=server .venv/bin/python bench/lines_through_server.py [--server OLD/server]
        [--positions 10] [--seed 0]

The positions `aurelis eval lines` picks (same seed, 10 in each of rich, click, typer and
requests), each asked once as an editor would: the server started offline on the embedded
model (`AURELIS_PROVIDER=local`, its own defaults) with the repository as its workspace
folder, the file opened without its line, one Invoked inline completion where the line's
code starts, the next one after a pause (as a user reads a suggestion; meanwhile the
server speculates, and a request then gets nothing). `--server` runs another checkout's
server (its `server/` folder), so a tree from before `aurelis eval` existed is measured on
the same sample. Prints one JSON object: exact first lines, edit similarity and each answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sysconfig
import time
from pathlib import Path
from typing import Any

from lsp_common import SERVER, inline, language_server, model_server, open_document
from lsprotocol import types

from aurelis.evaluation.lines import LinePosition, document_at, pick_positions, score
from aurelis.index.files import IndexFilter
from aurelis.index.repo_index import RepoIndex

SITE = Path(sysconfig.get_paths()["purelib"])
REPOSITORIES = ("rich", "click", "typer", "requests")
READY_WAIT = 120.0  # seconds for the embedded model to load and answer a first request
#: After an answer the server speculates (the suggestion after accepting it) and an inline
#: request meanwhile gets no model: a user reads the suggestion first, so do we.
READ_PAUSE = 2.0


async def _repository(server: Path, name: str, count: int, seed: int) -> list[dict[str, Any]]:
    source = SITE / name
    index = RepoIndex(source, None, IndexFilter())
    index.build()
    positions = pick_positions(index, count, seed)

    def populate(workspace: Path) -> None:
        shutil.copytree(source, workspace / name)

    async with (
        model_server() as model,
        language_server(
            model, populate=populate, AURELIS_PROVIDER="local", PYTHONPATH=str(server)
        ) as (client, workspace),
    ):
        await _model_ready(client, workspace)
        rows = []
        for position in positions:
            rows.append(await _ask(client, workspace / name, position))
            await asyncio.sleep(READ_PAUSE)
        return rows


async def _model_ready(client: Any, workspace: Path) -> None:
    """Inline requests do not wait for the model to load: ask until one is answered."""
    uri = open_document(client, workspace / "warm_up.py", "def add(a, b):\n    return")
    deadline = time.monotonic() + READY_WAIT
    while time.monotonic() < deadline:
        if _first_text(await inline(client, uri, types.Position(line=1, character=10))):
            return
        await asyncio.sleep(0.5)
    raise SystemExit("the embedded model gave no answer in time")


async def _ask(client: Any, root: Path, position: LinePosition) -> dict[str, Any]:
    text, offset = document_at(root, position)
    uri = open_document(client, root / position.path, text)
    cursor = types.Position(line=position.line, character=len(position.indent))
    started = time.perf_counter()
    suggestion = _first_text(await inline(client, uri, cursor))
    seconds = time.perf_counter() - started
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    exact, similarity = score(suggestion, position.expected)
    return {
        "path": position.path,
        "line": position.line + 1,
        "expected": position.expected,
        "suggestion": suggestion,
        "exact": exact,
        "similarity": round(similarity, 3),
        "seconds": round(seconds, 3),
    }


def _first_text(answer: Any) -> str:
    items = answer.items if isinstance(answer, types.InlineCompletionList) else answer or []
    if not items:
        return ""
    text = items[0].insert_text
    return text if isinstance(text, str) else text.value


async def _main(server: Path, count: int, seed: int) -> dict[str, Any]:
    rows = []
    for name in REPOSITORIES:
        rows += [
            {"repository": name, **row} for row in await _repository(server, name, count, seed)
        ]
    return {
        "server": str(server),
        "exact": sum(row["exact"] for row in rows),
        "total": len(rows),
        "similarity": round(statistics.fmean(row["similarity"] for row in rows), 3),
        "p50": statistics.median(row["seconds"] for row in rows),
        "positions": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--server", type=Path, default=SERVER)
    parser.add_argument("--positions", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = asyncio.run(_main(args.server.resolve(), args.positions, args.seed))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
