"""Inline completion time spent in the server, model latency excluded, on a 2,000-line file.

    PYTHONPATH=server .venv/bin/python bench/lsp_inline_latency.py [--requests 300]
        [--fim openai|llama_cpp|mistral] [--server OTHER_CHECKOUT/server]
        [--repository DIR [--no-index]]

`--repository DIR` copies DIR's sources into the workspace beside the 2,000-line file and
waits for the repository index: each completion then also retrieves related code (index
definitions and BM25 hits, recent edits). Run it once with and once with `--no-index`
(the index off, so no retrieval) to see what retrieval adds (target: ≤ 10 ms p50).

The server logs, per inline completion, the time it spent outside the model call and the
debounce (`server_ms`: reading the buffer, budgeting the prompt, context, post-processing,
the cache). The benchmark runs the real server with debug logging to a file, sends invoked
completions at a different line each time (so none is answered from the cache) against a
loopback model answering instantly, and reports p50/p99 of `server_ms` (targets: < 5 ms,
< 20 ms), plus the forwarding-cache path and the client's round trip for context.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from lsp_common import (
    inline,
    language_server,
    median,
    model_server,
    open_document,
    percentile,
    python_file,
    run,
)
from lsprotocol import types

from aurelis.testing import Reply

SUGGESTION = "value = compute(value)"


def server_times(log: Path) -> list[tuple[str, float]]:
    found = []
    for line in log.read_text().splitlines():
        if " inline_completion {" in line:
            fields = json.loads(line.split(" inline_completion ", 1)[1])
            found.append((fields["outcome"], float(fields["server_ms"])))
    return found


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--fim",
        choices=["openai", "llama_cpp", "mistral"],
        help="send inline completions as fill-in-the-middle in this dialect instead of chat",
    )
    parser.add_argument(
        "--server", type=Path, help="run the server from this server/ directory (a baseline)"
    )
    parser.add_argument("--repository", type=Path, help="a source tree to put in the workspace")
    parser.add_argument("--no-index", action="store_true", help="the repository index off")
    args = parser.parse_args()
    extra = {"AURELIS_LOG_LEVEL": "DEBUG"}
    options = {"index": {"enabled": not args.no_index}}
    if args.fim:
        extra["AURELIS_INLINE_FIM"] = json.dumps({"codestral-2501": args.fim})
    if args.server:
        extra["PYTHONPATH"] = str(args.server)
    text = python_file(2000)
    lines = text.split("\n")
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "server.log"
        async with model_server() as model:
            model.set_default("*", Reply(content=SUGGESTION))
            async with language_server(
                model,
                "--log-file",
                str(log),
                init_options=options,
                populate=lambda workspace: _copy_sources(args.repository, workspace),
                **extra,
            ) as (client, workspace):
                if args.repository and not args.no_index:
                    await _index_built(log)
                uri = open_document(client, workspace / "big.py", text)
                for index in range(args.requests):
                    line = 50 + (index * 6) % (len(lines) - 100)
                    position = types.Position(line=line, character=len(lines[line]))
                    await inline(client, uri, position)
                # Typing along the last suggestion: answered by the forwarding cache.
                for step, char in enumerate(SUGGESTION[:-1], start=2):
                    client.text_document_did_change(
                        types.DidChangeTextDocumentParams(
                            text_document=types.VersionedTextDocumentIdentifier(
                                uri=uri, version=step
                            ),
                            content_changes=[
                                types.TextDocumentContentChangePartial(
                                    range=types.Range(start=position, end=position), text=char
                                )
                            ],
                        )
                    )
                    position = types.Position(line=position.line, character=position.character + 1)
                    await inline(client, uri, position, invoked=False)
        times = server_times(log)
    model_path = [ms for outcome, ms in times if outcome == "model"]
    cached = [ms for outcome, ms in times if outcome == "cache"]
    mode = f"fill-in-the-middle ({args.fim})" if args.fim else "chat"
    if args.repository:
        retrieval = "off (--no-index)" if args.no_index else "on"
        mode += f", beside {args.repository.name}'s sources, retrieval {retrieval}"
    print(
        f"2,000-line file, {len(model_path)} {mode} completions through the model "
        "(loopback, instant):"
    )
    print(
        f"  server time p50 {percentile(model_path, 0.50):.2f} ms, "
        f"p99 {percentile(model_path, 0.99):.2f} ms, max {max(model_path):.2f} ms"
    )
    if cached:
        print(f"  forwarding-cache hits: {len(cached)}, server time median {median(cached):.2f} ms")
    print(f"(machine load average: {os.getloadavg()[0]:.2f})")


def _copy_sources(repository: Path | None, workspace: Path) -> None:
    if repository is not None:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.so")
        shutil.copytree(repository, workspace / repository.name, ignore=ignore)


async def _index_built(log: Path, within: float = 600) -> None:
    """Wait for the server's line saying the workspace was indexed."""
    deadline = time.monotonic() + within
    while "aurelis.lsp.index: indexed" not in await asyncio.to_thread(_text_of, log):
        if time.monotonic() > deadline:
            raise SystemExit("the workspace was not indexed in time")
        await asyncio.sleep(0.2)


def _text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


if __name__ == "__main__":
    run(main)
