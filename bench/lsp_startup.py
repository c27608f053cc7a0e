"""Start-up time and memory of the language server.

    PYTHONPATH=server .venv/bin/python bench/lsp_startup.py [--runs 10]

1. Start to `initialize` result: spawn what editors launch (the `aurelis serve` console
   script, and `python -m aurelis serve`) and time until the initialize response arrives
   (target < 500 ms), median over the runs. `lsp_startup_compare.py` puts the same numbers
   beside a bare pygls server and the lsprotocol import floor.
2. Memory: RSS of the server process after opening 50 files of 2,000 lines each
   (target < 150 MB), then after one inline completion (which loads the HTTP client stack).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from lsp_common import (
    capabilities,
    environment,
    inline,
    language_server,
    median,
    model_server,
    new_client,
    open_document,
    python_file,
    run,
)
from lsprotocol import types

from aurelis.testing import Reply

#: What the editors start: the VS Code extension runs the console script by default, and
#: `python -m aurelis serve` when `aurelis.pythonPath` is set.
EDITOR_COMMANDS = {
    "aurelis serve": [str(Path(sys.executable).parent / "aurelis"), "serve"],
    "python -m aurelis serve": [sys.executable, "-m", "aurelis", "serve"],
}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def time_to_initialize(model: object, command: list[str]) -> float:
    with tempfile.TemporaryDirectory() as scratch:
        client = new_client()
        started = time.perf_counter()
        await client.start_io(*command, env=environment(model, Path(scratch)))  # type: ignore[arg-type]
        await client.initialize_async(types.InitializeParams(capabilities=capabilities()))
        elapsed = time.perf_counter() - started
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
        return elapsed


async def memory_after_opening(model: object, files: int) -> tuple[float, float]:
    text = python_file(2000)
    async with language_server(model) as (client, workspace):  # type: ignore[arg-type]
        uris = [open_document(client, workspace / f"module_{i}.py", text) for i in range(files)]
        # An answered request proves every didOpen before it was processed (a code action
        # list costs no model call, so the HTTP client stack is not loaded yet).
        origin = types.Position(line=0, character=0)
        await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uris[-1]),
                range=types.Range(start=origin, end=origin),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        pid = client._server.pid  # type: ignore[union-attr]
        opened = rss_mb(pid)
        model.set_default("*", Reply(content="x"))  # type: ignore[attr-defined]
        await inline(client, uris[0], types.Position(line=10, character=0))
        return opened, rss_mb(pid)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    async with model_server() as model:
        samples: dict[str, list[float]] = {name: [] for name in EDITOR_COMMANDS}
        for command in EDITOR_COMMANDS.values():
            await time_to_initialize(model, command)  # warm the OS file cache once
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            for name, command in EDITOR_COMMANDS.items():
                samples[name].append(await time_to_initialize(model, command))
        for name, values in samples.items():
            print(
                f"{name}: start to initialize result: median {median(values) * 1000:.0f} ms "
                f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, runs {args.runs})"
            )
        opened, after_call = await memory_after_opening(model, 50)
        print(
            f"RSS after opening 50 files of 2,000 lines: {opened:.1f} MB; "
            f"after one completion: {after_call:.1f} MB"
        )
    print(f"(machine load average: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    run(main)
