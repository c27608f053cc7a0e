"""`aurelis batch FILE.jsonl`: many requests, concurrently, with a progress bar.

Input: one JSON object per line with `prompt` and optionally `id`, `task` (a TaskType
value, or `auto`, the default: detected like `ask`), `model`, `system`, `temperature`,
`max_tokens`, `context`, `metadata`, `file` and `lines` (a file attached like `--file`,
relative to the batch file, and inside its folder unless `--allow-outside` is given:
a batch file from elsewhere must not read your other files). Blank lines are ignored;
a malformed line is reported on stderr with its number and skipped, and the rest still
run. A UTF-8 byte order mark is ignored; the file is read up to 256 MB, and attached files
must be regular files of at most 2 MB (like `--file`).

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
from aurelis.core.safe_read import UnreadableFile, read_bounded
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


#: The largest batch file read (a pipe or `-` included): larger is surely not a batch.
MAX_BATCH_BYTES = 256 * 1024 * 1024


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
def parse_line(
    text: str, *, base_dir: Path, allow_outside: bool = False
) -> tuple[Any, ModelRequest]:
    """(id, request) for one line, or BatchLineError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BatchLineError(f"invalid JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise BatchLineError("invalid JSON (nested too deeply)") from None
    except ValueError as error:  # e.g. an integer with more digits than Python reads
        raise BatchLineError(f"invalid JSON ({error})") from None
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
    _check_field_types(data)
    try:
        return data.get("id"), _request(data, prompt, base_dir, allow_outside)
    except (CliUsageError, ValueError, TypeError) as error:
        message = error.message if isinstance(error, AurelisError) else str(error)
        raise BatchLineError(message) from None


# Fields whose values must have one JSON type (the rest are checked where they are used).
_STRING_FIELDS = ("task", "model", "system", "file")


def _check_field_types(data: dict[str, Any]) -> None:
    for name in _STRING_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise BatchLineError(f"`{name}` must be a string, got {_json_type(value)}")
    lines = data.get("lines")
    if lines is not None and (isinstance(lines, bool) or not isinstance(lines, str | int)):
        raise BatchLineError(f'`lines` must be a string like "10-40", got {_json_type(lines)}')
    for name in ("temperature", "max_tokens"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise BatchLineError(f"`{name}` must be a number, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names.update({list: "an array", dict: "an object"})
    return names.get(type(value), type(value).__name__)


def _request(
    data: dict[str, Any], prompt: str, base_dir: Path, allow_outside: bool = False
) -> ModelRequest:
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
            _attached_path(base_dir, str(file_name), allow_outside),
            None if lines is None else str(lines),
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


def _attached_path(base_dir: Path, name: str, allow_outside: bool) -> Path:
    """`name` under the batch file's folder; refused if it resolves outside that tree."""
    path = base_dir / name
    if allow_outside:
        return path
    root = base_dir.resolve()
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        real = None
    if real is None or not real.is_relative_to(root):
        raise ValueError(
            f"`file` {name} is outside the batch file's folder {root}; "
            "pass --allow-outside to let this batch read it"
        )
    return path


def parse_batch(
    lines: Iterable[str], *, base_dir: Path, allow_outside: bool = False
) -> tuple[list[BatchItem], list[tuple[int, str]]]:
    """All requests of a batch, and (line number, problem) for every malformed line."""
    items: list[BatchItem] = []
    problems: list[tuple[int, str]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            item_id, request = parse_line(text, base_dir=base_dir, allow_outside=allow_outside)
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
    # A byte order mark (Windows editors write one) is not part of line 1.
    if str(path) == "-":
        return sys.stdin.read().removeprefix("\ufeff").splitlines(), Path.cwd()
    try:
        data = read_bounded(path, MAX_BATCH_BYTES)
    except UnreadableFile as error:
        raise CliUsageError(error.message, hint="pass a UTF-8 JSONL file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CliUsageError(
            f"cannot read {path}: not UTF-8 (byte {error.start})", hint="pass a UTF-8 JSONL file"
        ) from None
    return text.splitlines(), path.resolve().parent


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
    allow_outside: Annotated[
        bool,
        typer.Option(
            "--allow-outside",
            help="Let `file` fields read files outside the batch file's folder.",
        ),
    ] = False,
) -> None:
    """Run many requests from a JSONL file, results in input order."""
    with error_boundary(debug=runtime.STATE.debug):
        runtime.config()
        lines, base_dir = _read_lines(file)
        items, problems = parse_batch(lines, base_dir=base_dir, allow_outside=allow_outside)
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
