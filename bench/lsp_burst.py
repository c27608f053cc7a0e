"""Model calls per 50-keystroke burst typed at 80 ms a key.

    PYTHONPATH=server .venv/bin/python bench/lsp_burst.py [--bursts 5] [--debounce 150]

Each keystroke sends a `didChange` and an automatic inline completion request, as VS Code
and Neovim do while typing. The server debounces (default 150 ms) and lets each request
supersede the previous one for the same document, so a burst should cost about one model
call (for the pause at its end). Reports the median over the bursts, and how many
requests got a suggestion.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from lsp_common import inline, language_server, median, model_server, open_document, run
from lsprotocol import types

from aurelis.testing import Reply

KEYS = 50
INTERVAL = 0.080


async def burst(client, uri: str, line: int, version: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Type KEYS characters on `line`; returns (suggestions shown, next version)."""
    pending = []
    started = time.perf_counter()
    for key in range(KEYS):
        position = types.Position(line=line, character=key)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=position, end=position), text="x"
                    )
                ],
            )
        )
        version += 1
        after = types.Position(line=line, character=key + 1)
        pending.append(asyncio.ensure_future(inline(client, uri, after, invoked=False)))
        # Keystrokes on a schedule, not after each answer: typing does not wait.
        await asyncio.sleep(max(0.0, started + (key + 1) * INTERVAL - time.perf_counter()))
    results = await asyncio.gather(*pending)
    shown = sum(1 for result in results if result and result.items)
    return shown, version


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=5)
    parser.add_argument("--debounce", type=int, default=150)
    args = parser.parse_args()
    calls, shown = [], []
    async with model_server() as model:
        model.set_default("*", Reply(content="= compute()", latency=0.05))
        options = {"inlineCompletion": {"debounceMs": args.debounce}}
        async with language_server(model, init_options=options) as (client, workspace):
            text = "\n" * (args.bursts * 2 + 1)
            uri = open_document(client, workspace / "typing.py", text)
            version = 2
            for index in range(args.bursts):
                before = len(model.requests)
                got, version = await burst(client, uri, index * 2, version)
                calls.append(len(model.requests) - before)
                shown.append(got)
    print(
        f"{KEYS} keystrokes at {INTERVAL * 1000:.0f} ms/key, debounce {args.debounce} ms, "
        f"{args.bursts} bursts: model calls per burst median {median(calls):g} "
        f"(each burst: {calls}); suggestions shown per burst: {shown}"
    )
    print(f"(machine load average: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    run(main)
