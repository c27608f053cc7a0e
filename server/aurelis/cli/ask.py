"""`aurelis ask` (task auto-detected) and the task commands `generate`, `explain`,
`document`, `refactor`, `optimize`, `test` and `analyze`.

All of them build one ModelRequest, send it (streamed on a terminal) and print the answer
on stdout and a summary line (model, tokens, time) on stderr; `--json` prints exactly one
JSON object instead.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from aurelis.cli import runtime
from aurelis.cli.errors import CliUsageError, error_boundary
from aurelis.cli.file_context import FileContext, language_in_prompt, load_file_context
from aurelis.cli.render import (
    make_writer,
    print_answer,
    print_json,
    response_to_dict,
    summary_line,
)
from aurelis.cli.task_detection import TaskDetection, detect_task
from aurelis.core.config import AurelisConfig
from aurelis.models.routing import primary_model
from aurelis.models.types import ModelRequest, ModelType, TaskType

__all__ = [
    "AskOptions",
    "TASK_COMMANDS",
    "ask_command",
    "make_task_command",
    "parse_model",
    "parse_task",
    "build_request",
    "prepare_request",
    "expected_model",
    "offline_note",
]

# name -> (task, help, prompt used when only --file is given)
TASK_COMMANDS: dict[str, tuple[TaskType, str, str]] = {
    "generate": (
        TaskType.CODE_GENERATION,
        "Generate code from a description.",
        "Complete this code.",
    ),
    "explain": (TaskType.EXPLANATION, "Explain what code does and why.", "Explain this code."),
    "document": (
        TaskType.DOCUMENTATION,
        "Write docstrings or documentation.",
        "Document this code.",
    ),
    "refactor": (
        TaskType.REFACTORING,
        "Refactor code without changing its behaviour.",
        "Refactor this code for readability.",
    ),
    "optimize": (TaskType.CODE_OPTIMIZATION, "Make code faster or leaner.", "Optimize this code."),
    "test": (TaskType.TESTING, "Write unit tests.", "Write unit tests for this code."),
    "analyze": (
        TaskType.ANALYSIS,
        "Review code for bugs, security and maintainability.",
        "Review this code.",
    ),
}

PromptArg = Annotated[
    str | None,
    typer.Argument(help="The request. `-` reads it from stdin.", show_default=False),
]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="Attach this file as context (secrets are redacted).",
        show_default=False,
    ),
]
LinesOpt = Annotated[
    str | None,
    typer.Option("--lines", help="Only these lines of --file, e.g. 10-40.", show_default=False),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        show_default=False,
        help="Model to use: " + ", ".join(m.value for m in ModelType) + ".",
    ),
]
SystemOpt = Annotated[
    str | None,
    typer.Option("--system", help="Replace the task's system prompt.", show_default=False),
]
TemperatureOpt = Annotated[
    float | None,
    typer.Option(
        "--temperature",
        "-t",
        min=0.0,
        max=2.0,
        show_default=False,
        help="Sampling temperature, 0-2 (default 0.1).",
    ),
]
MaxTokensOpt = Annotated[
    int | None,
    typer.Option("--max-tokens", min=1, help="Cap the answer's length.", show_default=False),
]
StreamOpt = Annotated[
    bool | None,
    typer.Option(
        "--stream/--no-stream",
        show_default=False,
        help="Print the answer as it is generated (default: on a terminal).",
    ),
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Neither read nor store cached answers.")
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON object: content, model_used, tokens_used, "
        "processing_time, cached, metadata.",
    ),
]
TaskOpt = Annotated[
    str | None,
    typer.Option(
        "--task",
        show_default=False,
        help="Skip auto-detection: " + ", ".join(t.value for t in TaskType) + ".",
    ),
]


@dataclass(frozen=True)
class AskOptions:
    """Everything a request command was given on the command line."""

    prompt: str | None = None
    file: Path | None = None
    lines: str | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool | None = None
    no_cache: bool = False
    json_output: bool = False


def ask_command(
    prompt: PromptArg = None,
    file: FileOpt = None,
    lines: LinesOpt = None,
    model: ModelOpt = None,
    task: TaskOpt = None,
    system: SystemOpt = None,
    temperature: TemperatureOpt = None,
    max_tokens: MaxTokensOpt = None,
    stream: StreamOpt = None,
    no_cache: NoCacheOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Ask anything; the task (and so the model) is detected from the prompt."""
    options = AskOptions(
        prompt, file, lines, model, system, temperature, max_tokens, stream, no_cache, json_output
    )
    with error_boundary(debug=runtime.STATE.debug):
        forced = parse_task(task) if task else None
        execute(options, task=forced, default_prompt="Explain this code.")


def make_task_command(name: str) -> Callable[..., None]:
    """The command function for one of TASK_COMMANDS (same options as `ask`)."""
    task, help_text, default_prompt = TASK_COMMANDS[name]

    def command(
        prompt: PromptArg = None,
        file: FileOpt = None,
        lines: LinesOpt = None,
        model: ModelOpt = None,
        system: SystemOpt = None,
        temperature: TemperatureOpt = None,
        max_tokens: MaxTokensOpt = None,
        stream: StreamOpt = None,
        no_cache: NoCacheOpt = False,
        json_output: JsonOpt = False,
    ) -> None:
        options = AskOptions(
            prompt,
            file,
            lines,
            model,
            system,
            temperature,
            max_tokens,
            stream,
            no_cache,
            json_output,
        )
        with error_boundary(debug=runtime.STATE.debug):
            execute(options, task=task, default_prompt=default_prompt)

    command.__name__ = name
    command.__doc__ = help_text
    return command


# --- building the request --------------------------------------------------------------
def parse_model(name: str | None) -> ModelType | None:
    """`--model` value -> ModelType; `auto` or nothing means "let routing decide"."""
    if name is None or name.strip().lower() in ("", "auto"):
        return None
    try:
        return ModelType(name)
    except ValueError:
        valid = ", ".join(m.value for m in ModelType)
        raise CliUsageError(f"unknown model {name!r}", hint=f"valid models: {valid}") from None


def parse_task(name: str) -> TaskType:
    """`--task` value -> TaskType (values or member names, any case)."""
    try:
        return TaskType(name)
    except ValueError:
        valid = ", ".join(t.value for t in TaskType)
        raise CliUsageError(f"unknown task {name!r}", hint=f"valid tasks: {valid}") from None


def read_prompt(prompt: str | None, file_context: FileContext | None, default: str) -> str:
    """The prompt text: the argument, stdin for `-`, or `default` when only a file is given."""
    if prompt == "-":
        text = sys.stdin.read()
        if not text.strip():
            raise CliUsageError(
                "the prompt read from stdin is empty",
                hint="pipe the request in, e.g. echo 'explain X' | aurelis ask -",
            )
        return text.strip("\n")
    if prompt is not None and prompt.strip():
        return prompt
    if file_context is not None:
        return default
    raise CliUsageError(
        "missing PROMPT", hint="give the request as an argument, or - to read it from stdin"
    )


def build_request(
    prompt: str,
    task: TaskType,
    options: AskOptions,
    file_context: FileContext | None,
    *,
    metadata: dict[str, Any] | None = None,
) -> ModelRequest:
    """The ModelRequest for a command line; bad values become usage errors (exit 2)."""
    values: dict[str, Any] = {
        "prompt": prompt,
        "task_type": task,
        "model_type": parse_model(options.model),
        "system_prompt": options.system,
        "max_tokens": options.max_tokens,
        "metadata": {"source": "cli", **(metadata or {})},
    }
    if options.temperature is not None:
        values["temperature"] = options.temperature
    if file_context is not None:
        values["context"] = file_context.as_context()
        values["metadata"].update(file_context.as_metadata())
    try:
        return ModelRequest(**values)
    except ValueError as error:
        raise CliUsageError(str(error), hint="see the command's --help") from None


def expected_model(request: ModelRequest, settings: AurelisConfig) -> ModelType:
    """The model routing picks for `request` (a fallback may still answer instead)."""
    return primary_model(request, settings)


def offline_note(settings: AurelisConfig, model: ModelType | None) -> str | None:
    """Why an explicitly chosen remote model will not answer, when it will not."""
    if model is None or model is ModelType.LOCAL or settings.remote_enabled:
        return None
    return (
        f"note: no endpoint or token is configured, so the local model answers instead "
        f"of {model.value} (set AURELIS_ENDPOINT and AURELIS_TOKEN to use it)"
    )


# --- running it ------------------------------------------------------------------------
def execute(options: AskOptions, *, task: TaskType | None, default_prompt: str) -> None:
    """Build, send and print one request (the body of every request command)."""
    settings = runtime.config()
    request, detection, language = prepare_request(options, task, default_prompt)
    if options.no_cache:
        # The CLI process is one request long: switching the live setting off is scoped.
        settings.cache_enabled = False
    _print_notes(settings, request, detection, options)
    stream = (
        options.stream if options.stream is not None else (runtime.stdout_console().is_terminal)
    )
    if options.json_output:
        runtime.run_async(lambda: _send_json(request))
    elif stream:
        runtime.run_async(lambda: _send_streamed(request, settings, language))
    else:
        runtime.run_async(lambda: _send_whole(request, language))


def prepare_request(
    options: AskOptions, task: TaskType | None, default_prompt: str
) -> tuple[ModelRequest, TaskDetection | None, str | None]:
    """(request, the detection when the task was detected, language to highlight in)."""
    if options.lines and options.file is None:
        raise CliUsageError("--lines needs --file", hint="e.g. --file app.py --lines 10-40")
    file_context = load_file_context(options.file, options.lines) if options.file else None
    prompt = read_prompt(options.prompt, file_context, default_prompt)
    detection: TaskDetection | None = None
    if task is None:
        detection = detect_task(prompt, has_code=file_context is not None)
        task = detection.task
    request = build_request(prompt, task, options, file_context)
    language = file_context.language if file_context else language_in_prompt(prompt)
    return request, detection, language


def _print_notes(
    settings: AurelisConfig,
    request: ModelRequest,
    detection: TaskDetection | None,
    options: AskOptions,
) -> None:
    err = runtime.stderr_console()
    note = offline_note(settings, request.model_type)
    if note:
        err.print(Text(note, style="yellow"))
    if detection is not None and not options.json_output and err.is_terminal:
        # Shown to people, not to scripts: their stderr carries only summaries and errors.
        err.print(Text(f"task: {detection.task.value} ({detection.reason})", style="dim"))


async def _send_json(request: ModelRequest) -> None:
    response = await runtime.orchestrator().process_request(request)
    print_json(response_to_dict(response))


async def _send_whole(request: ModelRequest, language: str | None) -> None:
    response = await runtime.orchestrator().process_request(request)
    print_answer(response.content, runtime.stdout_console(), language=language)
    _print_summary(
        summary_line(
            model=response.model_used.value,
            tokens=response.tokens_used,
            seconds=response.processing_time,
            task=request.task_type.value,
            cached=response.cached,
        )
    )


async def _send_streamed(
    request: ModelRequest, settings: AurelisConfig, language: str | None
) -> None:
    from aurelis.models.tokens import count_tokens

    writer = make_writer(runtime.stdout_console(), language=language)
    started = time.perf_counter()
    answered_by = [expected_model(request, settings)]  # a fallback replaces it
    try:
        stream = runtime.orchestrator().stream_request(request, on_model=answered_by.append)
        async with _closing(stream):
            async for chunk in stream:
                writer.feed(chunk)
    finally:
        writer.finish()
    # A stream reports no usage to us: count the answer's tokens ourselves.
    _print_summary(
        summary_line(
            model=answered_by[-1].value,
            tokens=count_tokens(writer.text),
            seconds=time.perf_counter() - started,
            task=request.task_type.value,
            approximate=True,
        )
    )


def _closing(stream: Any) -> Any:
    # Close the generator inside the loop (and so the HTTP response) even on errors.
    if hasattr(stream, "aclose"):
        return contextlib.aclosing(stream)
    return contextlib.nullcontext(stream)


def _print_summary(line: str) -> None:
    runtime.stderr_console().print(Text(line, style="dim"))
