"""Inline completion on the embedded model, driven like an editor.

    PYTHONPATH=server .venv/bin/python bench/lsp_inline_typing.py [--runs 3]

Per run: start the real server offline (`AURELIS_PROVIDER=local`, the bundled gemma 270M on
its default threads), wait 2 s, open a 300-line and a 2,000-line Python file and ask for a
completion at once in each (Invoked, timed from `didOpen` to the first non-empty answer,
asking again every 100 ms while the answer is empty), at a fresh `def summarize(r):`
body in the middle of the file. Then, in each file, type a line at ~120 ms a key with a
pause after each word, sending an Automatic request after every key (no waiting for
answers: typing does not wait). At the end, accept the suggestion shown (if any) and ask
again: that answer should come from the speculation cache.

A request "counts" (is one the user could see) when its answer arrived before the next key
was sent, or it was the last key before a pause; superseded requests are by design empty.
Reported per run and as medians over runs: first suggestion per file, p50/p95 of counted
latencies while typing, suggestions shown, model calls per pause (from the server's DEBUG
log: `inline_completion` outcome "model" and "speculative" entries), degenerate suggestions
shown, badly indented multi-line suggestions, accept → next latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_common import (
    inline,
    language_server,
    model_server,
    open_document,
    percentile,
    python_file,
    run,
)
from lsprotocol import types

KEY_INTERVAL = 0.120
FIRST_WAIT = 150.0  # seconds to wait for a first suggestion
ANSWER_WAIT = 150.0  # seconds before an unanswered request is counted as lost
WORDS = ["values", " =", " sorted(r,", " reverse=True)"]
HEADER = "def summarize(r):\n"
INDENT = "    "


def document(lines: int) -> tuple[str, types.Position]:
    """A Python file of `lines` lines with a fresh function body at its middle."""
    text = python_file(lines)
    split = text.split("\n")
    middle = len(split) // 2
    while split[middle].strip():
        middle += 1  # a blank line between two functions
    head = "\n".join(split[: middle + 1]) + "\n"
    tail = "\n".join(split[middle + 1 :])
    cursor = types.Position(line=middle + 2, character=len(INDENT))
    return f"{head}{HEADER}{INDENT}\n\n{tail}", cursor


def degenerate(text: str, line_suffix: str) -> bool:
    """Bench-side check: whitespace only, a short unit repeated, or the line's suffix echoed."""
    stripped = text.strip()
    if not stripped:
        return True
    if re.search(r"(.{1,8}?)(?:\s*\1){3,}", stripped):
        return True
    return bool(line_suffix.strip()) and stripped.startswith(line_suffix.strip())


def badly_indented(text: str, line_before_cursor: str) -> bool:
    """A multi-line suggestion whose continuation lines do not continue the block."""
    lines = (line_before_cursor + text).split("\n")
    for previous, line in zip(lines, lines[1:], strict=False):
        if not line.strip() or not previous.strip():
            continue
        before = len(previous) - len(previous.lstrip())
        now = len(line) - len(line.lstrip())
        allowed = before + 4 if previous.rstrip().endswith(":") else before
        if now > allowed or now % 4:
            return True
    return False


_JSON = json.JSONDecoder()


@dataclass
class Typed:
    latencies: list[float] = field(default_factory=list)
    shown: int = 0
    degenerate: int = 0
    bad_indent: int = 0
    calls_per_pause: list[int] = field(default_factory=list)
    accept_next: float | None = None
    unanswered: int = 0
    samples: list[str] = field(default_factory=list)


class Log:
    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text().splitlines():
            if " inline_completion {" in line:
                # The object alone: a log line may carry a note after it.
                fields, _ = _JSON.raw_decode(line.split(" inline_completion ", 1)[1])
                found.append(fields)
        return found

    def model_calls(self) -> tuple[int, int]:
        """(interactive calls that reached the model, speculative calls) so far."""
        entries = self.entries()
        interactive = sum(
            1 for entry in entries if entry.get("model_ms", 0) > 0 and not entry.get("speculative")
        )
        speculative = sum(1 for entry in entries if entry.get("speculative"))
        return interactive, speculative


def change(client: Any, uri: str, version: int, at: types.Position, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=at, end=at), text=text
                )
            ],
        )
    )


def first_text(result: Any) -> str:
    return str(result.items[0].insert_text) if result and result.items else ""


async def type_line(client: Any, uri: str, cursor: types.Position, log: Log, pause: float) -> Typed:
    typed = Typed()
    version = 2
    line_text = INDENT
    column = cursor.character
    last_shown = ""
    for word in WORDS:
        calls_before = log.model_calls()[0]
        sent: list[tuple[float, asyncio.Future[Any], str]] = []
        for char in word:
            change(client, uri, version, types.Position(line=cursor.line, character=column), char)
            version += 1
            column += 1
            line_text += char
            future = asyncio.ensure_future(
                inline(client, uri, types.Position(line=cursor.line, character=column), False)
            )
            future.add_done_callback(stamp)
            sent.append((time.perf_counter(), future, line_text))
            await asyncio.sleep(KEY_INTERVAL)
        await asyncio.sleep(pause)
        for index, (started, future, before) in enumerate(sent):
            try:
                result = await asyncio.wait_for(asyncio.shield(future), ANSWER_WAIT)
            except TimeoutError:
                typed.unanswered += 1  # a request the server never answered: a bug
                continue
            last = index == len(sent) - 1
            done_at = future.answered_at  # type: ignore[attr-defined]
            next_sent = sent[index + 1][0] if not last else float("inf")
            if not last and done_at > next_sent:
                continue
            typed.latencies.append(done_at - started)
            text = first_text(result)
            if text:
                typed.shown += 1
                last_shown = text
                typed.samples.append(text)
                typed.degenerate += degenerate(text, "")
                typed.bad_indent += badly_indented(text, before)
        typed.calls_per_pause.append(log.model_calls()[0] - calls_before)
    if last_shown:
        await asyncio.sleep(pause)  # let speculation run, as the user reads the suggestion
        at = types.Position(line=cursor.line, character=column)
        change(client, uri, version, at, last_shown)
        lines = (line_text + last_shown).split("\n")
        end = types.Position(
            line=cursor.line + len(lines) - 1,
            character=len(lines[-1]) if len(lines) > 1 else column + len(last_shown),
        )
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(inline(client, uri, end, False), ANSWER_WAIT)
        except TimeoutError:
            typed.unanswered += 1
            return typed
        typed.accept_next = time.perf_counter() - started
        typed.samples.append(f"after accept: {first_text(result)!r}")
    return typed


def stamp(done: asyncio.Future[Any]) -> None:
    """Record when an answer arrived (the futures are only awaited after the pause)."""
    done.answered_at = time.perf_counter()  # type: ignore[attr-defined]


async def one_run(pause: float, extra_env: dict[str, str], keep: Path | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        log = Log(keep or Path(scratch) / "server.log")
        async with (
            model_server() as model,
            language_server(
                model,
                "--log-file",
                str(log.path),
                AURELIS_LOG_LEVEL="DEBUG",
                AURELIS_PROVIDER="local",
                **extra_env,
            ) as (client, workspace),
        ):
            await asyncio.sleep(2.0)
            opened = {}
            for lines in (300, 2000):
                text, cursor = document(lines)
                started = time.perf_counter()
                uri = open_document(client, workspace / f"file_{lines}.py", text)
                answer = await inline(client, uri, cursor)
                # An empty answer is no suggestion: ask again (as an editor does on the next
                # key) until one comes, and time that.
                while not first_text(answer) and time.perf_counter() - started < FIRST_WAIT:
                    await asyncio.sleep(0.1)
                    answer = await inline(client, uri, cursor)
                result[f"first_{lines}"] = time.perf_counter() - started
                print(
                    f"  first suggestion, {lines}-line file: "
                    f"{result[f'first_{lines}'] * 1000:.0f} ms",
                    flush=True,
                )
                first = first_text(answer)
                result[f"first_text_{lines}"] = first
                result[f"first_bad_indent_{lines}"] = bool(first) and badly_indented(first, INDENT)
                result[f"first_degenerate_{lines}"] = bool(first) and degenerate(first, "")
                opened[lines] = (uri, cursor)
            for lines, (uri, cursor) in opened.items():
                result[f"typed_{lines}"] = await type_line(client, uri, cursor, log, pause)
            result["speculative_calls"] = log.model_calls()[1]
    return result


def summary(runs: list[dict[str, Any]]) -> None:
    for index, one in enumerate(runs, start=1):
        print(f"run {index}:")
        for lines in (300, 2000):
            typed: Typed = one[f"typed_{lines}"]
            p50 = percentile(typed.latencies, 0.5) * 1000 if typed.latencies else float("nan")
            p95 = percentile(typed.latencies, 0.95) * 1000 if typed.latencies else float("nan")
            accept = f"{typed.accept_next * 1000:.0f} ms" if typed.accept_next is not None else "-"
            print(
                f"  {lines:>5}-line: first {one[f'first_{lines}'] * 1000:.0f} ms "
                f"{one[f'first_text_{lines}']!r:.60} | typing p50 {p50:.0f} ms p95 {p95:.0f} ms "
                f"(n={len(typed.latencies)}, shown {typed.shown}) | model calls per pause "
                f"{typed.calls_per_pause} | degenerate {typed.degenerate} | bad indent "
                f"{typed.bad_indent + one[f'first_bad_indent_{lines}']} | accept→next {accept}"
                f"{f' | UNANSWERED {typed.unanswered}' if typed.unanswered else ''}"
            )
            for sample in typed.samples[-3:]:
                print(f"      {sample!r:.100}")
        print(f"  speculative calls: {one['speculative_calls']}")
    print("medians over runs:")
    for lines in (300, 2000):
        first = statistics.median(one[f"first_{lines}"] for one in runs) * 1000
        all_latencies = [lat for one in runs for lat in one[f"typed_{lines}"].latencies]
        accepts = [
            one[f"typed_{lines}"].accept_next
            for one in runs
            if one[f"typed_{lines}"].accept_next is not None
        ]
        print(
            f"  {lines:>5}-line: first suggestion {first:.0f} ms; typing (pooled) "
            f"p50 {percentile(all_latencies, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(all_latencies, 0.95) * 1000:.0f} ms; "
            f"accept→next median "
            f"{statistics.median(accepts) * 1000 if accepts else float('nan'):.0f} ms"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pause", type=float, default=1.5, help="seconds after each word")
    parser.add_argument("--keep-log", type=Path, help="write the server's log here")
    parser.add_argument(
        "--env", action="append", default=[], help="extra server environment, KEY=VALUE"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout's server/ directory: each run measures it too, alternating",
    )
    args = parser.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    sides = {"current": extra}
    if args.baseline is not None:
        sides = {"baseline": {**extra, "PYTHONPATH": str(args.baseline)}, **sides}
    loads = [os.getloadavg()[0]]
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    for index in range(args.runs):
        for side, env in sides.items():
            print(f"run {index + 1}, {side} (load {os.getloadavg()[0]:.2f}) ...", flush=True)
            runs[side].append(await one_run(args.pause, env, args.keep_log))
            loads.append(os.getloadavg()[0])
            summary(runs[side][-1:])
    for side, done in runs.items():
        print(f"=== {side}: all runs ===")
        summary(done)
    print(f"(machine load average during the runs: {min(loads):.2f}–{max(loads):.2f})")


if __name__ == "__main__":
    run(main)
