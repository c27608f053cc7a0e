"""`aurelis batch FILE.jsonl`: many requests, concurrently, with a progress bar.

Input: one JSON object per line with `prompt` and optionally `id`, `task` (a TaskType
value, or `auto`, the default: detected like `ask`), `model`, `system`, `temperature`,
`max_tokens`, `context`, `metadata`, `file` and `lines` (a file attached like `--file`,
relative to the batch file). Blank lines are ignored; a malformed line is reported on
stderr with its number and skipped, and the rest still run.

Output: one JSON object per request, in input order, written as soon as every earlier
line is done (so an interrupted run keeps what it finished): `line`, `id`, then the
response fields of `--json`, or `error` and `error_type` for a failed request.

Exit code: 1 if any request failed, else 2 if any line was malformed, else 0.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from aurelis.cli import runtime
from aurelis.cli.ask import parse_model, parse_task
from aurelis.cli.errors import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CliUsageError,
    describe_error,
    error_boundary,
)
from aurelis.cli.file_context import load_file_context
from aurelis.cli.render import response_to_dict
from aurelis.cli.task_detection import detect_task
from aurelis.core.exceptions import AurelisError
from aurelis.models.types import ModelRequest

__all__ = [
    "BatchItem",
    "BatchLineError",
    "BatchTally",
    "OrderedWriter",
    "parse_batch",
    "parse_line",
    "batch_command",
    "batch_exit_code",
]

FIELDS = frozenset(
    {
        "id",
        "prompt",
        "task",
        "model",
        "system",
        "temperature",
        "max_tokens",
        "context",
        "metadata",
        "file",
        "lines",
    }
)


class BatchLineError(Exception):
    """A line that cannot become a request."""


@dataclass(frozen=True)
class BatchItem:
    line: int
    id: Any
    request: ModelRequest


@dataclass
class BatchTally:
    succeeded: int = 0
    failed: int = 0
    cached: int = 0
    malformed: int = 0


# --- parsing -------------------------------------------------------------------------------
def parse_line(text: str, *, base_dir: Path) -> tuple[Any, ModelRequest]:
    """(id, request) for one line, or BatchLineError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BatchLineError(f"invalid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise BatchLineError(f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise BatchLineError(
            f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(FIELDS))}"
        )
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise BatchLineError("`prompt` must be a non-empty string")
    try:
        return data.get("id"), _request(data, prompt, base_dir)
    except (CliUsageError, ValueError) as error:
        message = error.message if isinstance(error, AurelisError) else str(error)
        raise BatchLineError(message) from None


def _request(data: dict[str, Any], prompt: str, base_dir: Path) -> ModelRequest:
    context = data.get("context")
    if context is not None and not isinstance(context, dict):
        raise ValueError("`context` must be a JSON object")
    extra_metadata = data.get("metadata") or {}
    if not isinstance(extra_metadata, dict):
        raise ValueError("`metadata` must be a JSON object")
    metadata = {"source": "cli-batch", **extra_metadata}
    file_name = data.get("file")
    if file_name is not None:
        lines = data.get("lines")
        attached = load_file_context(
            base_dir / str(file_name), None if lines is None else str(lines)
        )
        context = {**(context or {}), **attached.as_context()}
        metadata.update(attached.as_metadata())
    task_name = data.get("task")
    if task_name in (None, "auto"):
        task = detect_task(prompt, has_code=bool(context)).task
    else:
        task = parse_task(str(task_name))
    values: dict[str, Any] = {
        "prompt": prompt,
        "task_type": task,
        "model_type": parse_model(data.get("model")),
        "system_prompt": data.get("system"),
        "max_tokens": data.get("max_tokens"),
        "context": context,
        "metadata": metadata,
    }
    if data.get("temperature") is not None:
        values["temperature"] = data["temperature"]
    return ModelRequest(**values)


def parse_batch(
    lines: Iterable[str], *, base_dir: Path
) -> tuple[list[BatchItem], list[tuple[int, str]]]:
    """All requests of a batch, and (line number, problem) for every malformed line."""
    items: list[BatchItem] = []
    problems: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            item_id, request = parse_line(text, base_dir=base_dir)
        except BatchLineError as error:
            problems.append((number, str(error)))
            continue
        items.append(BatchItem(number, item_id, request))
    return items, problems


# --- output --------------------------------------------------------------------------------
class OrderedWriter:
    """Writes results in input order as soon as every earlier one is done."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._pending: dict[int, dict[str, Any]] = {}
        self._next = 0
        self._total = total

    def put(self, index: int, record: dict[str, Any]) -> None:
        self._pending[index] = record
        while self._next in self._pending:
            line = json.dumps(self._pending.pop(self._next), ensure_ascii=False, default=str)
            self._stream.write(line + "\n")
            self._next += 1
        self._stream.flush()

    @property
    def written(self) -> int:
        return self._next


def result_record(item: BatchItem, outcome: Any) -> dict[str, Any]:
    """The output object for one finished request."""
    record: dict[str, Any] = {"line": item.line, "id": item.id}
    if isinstance(outcome, BaseException):
        message, _hint = describe_error(outcome)
        record.update(error=message, error_type=type(outcome).__name__)
    else:
        record.update(response_to_dict(outcome))
    return record


def batch_exit_code(tally: BatchTally) -> int:
    if tally.failed:
        return EXIT_FAILURE
    if tally.malformed:
        return EXIT_USAGE
    return EXIT_OK


# --- running ------------------------------------------------------------------------------
class RateColumn(ProgressColumn):
    """Requests finished per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("- req/s" if speed is None else f"{speed:.1f} req/s", style="cyan")


def _progress(console: Any) -> Progress:
    return Progress(
        TextColumn("[bold]batch"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("[green]{task.fields[cached]} cached[/] [red]{task.fields[failed]} failed[/]"),
        console=console,
        transient=False,
    )


async def run_batch(
    items: list[BatchItem],
    concurrency: int | None,
    on_done: Callable[[int, Any], None],
) -> None:
    """Send every request; `on_done(index, response_or_exception)` as each finishes.

    The orchestrator bounds concurrency (by default to what the models' rate limits
    allow) and answers identical lines once.
    """

    def progress(update: Any) -> None:
        on_done(update.index, update.error if update.error is not None else update.result)

    await runtime.orchestrator().process_batch(
        [item.request for item in items],
        concurrency=concurrency,
        return_exceptions=True,
        on_progress=progress,
    )


def _read_lines(path: Path) -> tuple[list[str], Path]:
    if str(path) == "-":
        return sys.stdin.read().splitlines(), Path.cwd()
    try:
        return path.read_text(encoding="utf-8").splitlines(), path.resolve().parent
    except FileNotFoundError:
        raise CliUsageError(f"{path} does not exist", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CliUsageError(
            f"cannot read {path}: {error}", hint="pass a UTF-8 JSONL file"
        ) from None


def _open_output(path: Path | None, source: Path) -> TextIO:
    if path is None:
        return sys.stdout
    if str(source) != "-" and path.resolve() == source.resolve():
        raise CliUsageError("--output is the input file", hint="write the results elsewhere")
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise CliUsageError(f"cannot write {path}: {error.strerror}", hint=None) from None


def batch_command(
    file: Annotated[Path, typer.Argument(help="JSONL file, one request per line (`-`: stdin).")],
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            show_default=False,
            help="Requests in flight at once (default: what the models' rate limits allow).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", show_default=False, help="Write the results here instead of stdout."
        ),
    ] = None,
) -> None:
    """Run many requests from a JSONL file, results in input order."""
    with error_boundary(debug=runtime.STATE.debug):
        runtime.config()
        lines, base_dir = _read_lines(file)
        items, problems = parse_batch(lines, base_dir=base_dir)
        err = runtime.stderr_console()
        for number, problem in problems:
            err.print(Text(f"line {number}: skipped: {problem}", style="yellow"))
        if not items:
            raise CliUsageError(
                f"{file} has no valid requests",
                hint='each line needs a JSON object like {"prompt": "..."}',
            )
        tally = BatchTally(malformed=len(problems))
        stream = _open_output(output, file)
        try:
            elapsed = _execute(items, concurrency, stream, tally, err)
        finally:
            if stream is not sys.stdout:
                stream.close()
        err.print(Text(_summary(tally, elapsed), style="bold"))
        raise typer.Exit(batch_exit_code(tally))


def _execute(
    items: list[BatchItem], concurrency: int | None, stream: TextIO, tally: BatchTally, err: Any
) -> float:
    writer = OrderedWriter(stream, len(items))
    started = time.perf_counter()
    with _progress(err) as progress:
        task_id = progress.add_task("batch", total=len(items), cached=0, failed=0)

        def on_done(index: int, outcome: Any) -> None:
            if isinstance(outcome, BaseException):
                tally.failed += 1
            else:
                tally.succeeded += 1
                tally.cached += bool(getattr(outcome, "cached", False))
            writer.put(index, result_record(items[index], outcome))
            progress.update(task_id, advance=1, cached=tally.cached, failed=tally.failed)

        runtime.run_async(lambda: run_batch(items, concurrency, on_done))
    return time.perf_counter() - started


def _summary(tally: BatchTally, elapsed: float) -> str:
    parts = [f"{tally.succeeded} succeeded", f"{tally.failed} failed", f"{tally.cached} cached"]
    if tally.malformed:
        skipped = "line" if tally.malformed == 1 else "lines"
        parts.append(f"{tally.malformed} malformed {skipped} skipped")
    return f"batch: {', '.join(parts)} in {elapsed:.2f}s"
