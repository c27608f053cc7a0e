"""Incremental document sync on a large buffer: 200 edits to a 200,000-line document.

    PYTHONPATH=server .venv/bin/python bench/lsp_incremental_sync.py [--runs 5] [--lines 200000]

Runs the real server (`python -m aurelis.lsp`) against the loopback model server. Each run
opens a fresh 200k-line Python document, waits until the server has it, then sends 200
incremental `didChange` notifications (typing three statements on a line near the middle,
a newline after each, backspaces, and edits spread over the document: at its start, across
a line break, at its end) followed by an invoked inline completion request. The time is
from the first `didChange` to the answer of that request; the goal is 0.5 s.

The benchmark checks that it measured what it claims: the prompt the model server received
holds the text typed last, so every edit reached the document before the answer.
"""

from __future__ import annotations

import argparse
import os
import time

from lsp_common import (
    inline,
    language_server,
    median,
    model_server,
    open_document,
    python_file,
    run,
)
from lsprotocol import types

from aurelis.testing import Reply

EDITS = 200
TYPED = ("total = compute(values)", "print(total, factor)", "return total * 2")


def _change(uri: str, version: int, start: tuple[int, int], end: tuple[int, int], text: str):  # type: ignore[no-untyped-def]
    rng = types.Range(
        start=types.Position(line=start[0], character=start[1]),
        end=types.Position(line=end[0], character=end[1]),
    )
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=rng, text=text)],
    )


def edits(uri: str, lines: int) -> tuple[list[types.DidChangeTextDocumentParams], types.Position]:
    """The 200 changes, and the cursor after the last typed character."""
    changes = []
    # Spread edits first: the start, a join of two lines, a split, and the end.
    changes.append(_change(uri, 2, (0, 0), (0, 0), "# edited\n"))
    changes.append(_change(uri, 3, (10, 0), (11, 0), ""))
    changes.append(_change(uri, 4, (lines // 4, 4), (lines // 4, 4), "\n    "))
    changes.append(_change(uri, 5, (lines + 1, 0), (lines + 1, 0), "\n# end\n"))
    line, column, version = lines // 2, 0, 6
    changes.append(_change(uri, version, (line, 0), (line, 0), "\n"))
    version += 1
    keys = [char for statement in TYPED for char in [*statement, "\n"]]
    for key in keys:
        if len(changes) >= EDITS - 4:
            break
        changes.append(_change(uri, version, (line, column), (line, column), key))
        version += 1
        line, column = (line + 1, 0) if key == "\n" else (line, column + 1)
    # Backspaces over the last few characters, then type them again.
    last = TYPED[-1]
    changes.append(_change(uri, version, (line - 1, len(last) - 2), (line - 1, len(last)), ""))
    changes.append(
        _change(uri, version + 1, (line - 1, len(last) - 2), (line - 1, len(last) - 2), last[-2:])
    )
    # The rest: a comment typed and deleted again on the empty line below the cursor.
    typed = False
    while len(changes) < EDITS:
        version = changes[-1].text_document.version + 1
        start, end = ((line, 0), (line, 1)) if typed else ((line, 0), (line, 0))
        changes.append(_change(uri, version, start, end, "" if typed else "#"))
        typed = not typed
    return changes, types.Position(line=line - 1, character=len(last))


async def one_run(client, model, workspace, index: int, lines: int, text: str) -> float:  # type: ignore[no-untyped-def]
    uri = open_document(client, workspace / f"big_{index}.py", text)
    # The open is a notification: a request after it is answered once the server has it.
    await inline(client, uri, types.Position(line=1, character=0))
    model.reset()
    model.set_default("*", Reply(content="x = 1"))
    changes, cursor = edits(uri, lines)
    started = time.perf_counter()
    for change in changes:
        client.text_document_did_change(change)
    await inline(client, uri, cursor)
    elapsed = time.perf_counter() - started
    prompts = [request.last_user_message for request in model.requests]
    if not any(TYPED[-1] in prompt for prompt in prompts):
        raise SystemExit("the request after the edits did not see them: nothing measured")
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=200_000)
    args = parser.parse_args()
    text = python_file(args.lines)
    lines = text.count("\n")
    samples = []
    async with model_server() as model:
        model.set_default("*", Reply(content="x = 1"))
        async with language_server(model) as (client, workspace):
            for index in range(args.runs):
                samples.append(await one_run(client, model, workspace, index, lines, text))
    shown = ", ".join(f"{sample:.3f}" for sample in samples)
    print(
        f"{EDITS} incremental edits to a {lines + 1}-line document ({len(text) / 1e6:.1f} MB) "
        f"+ one inline request: median {median(samples):.3f} s over {args.runs} runs ({shown} s)"
    )
    print(f"(machine load average: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    run(main)
