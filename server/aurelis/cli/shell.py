"""`aurelis shell`: an interactive session (prompt_toolkit).

History is kept across sessions in a file under the platformdirs user data dir
(`AURELIS_HISTORY_FILE` overrides it), 0600 and redacted (`shell_history`). Each prompt
is auto-detected (task and model are shown before sending), streamed with highlighted
code blocks, and Ctrl-C cancels the running request without leaving the shell. Ctrl-C at
the prompt clears the line; Ctrl-D or /exit leaves.

When stdin is not a terminal the shell reads prompts line by line instead (same commands,
same multi-line rules), so it can be scripted.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import platformdirs
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aurelis.cli import runtime
from aurelis.cli.ask import expected_model, parse_model, parse_task
from aurelis.cli.errors import describe_error, error_boundary
from aurelis.cli.file_context import language_in_prompt, load_file_context
from aurelis.cli.render import make_writer, summary_line
from aurelis.cli.shell_commands import (
    COMMANDS,
    ShellState,
    is_command,
    needs_more_input,
    run_command,
)
from aurelis.cli.shell_history import open_history
from aurelis.cli.task_detection import TaskDetection, detect_task
from aurelis.models.tokens import count_tokens
from aurelis.models.types import ModelRequest

__all__ = ["shell_command", "history_path", "Shell"]

HISTORY_ENV = "AURELIS_HISTORY_FILE"
WELCOME = "Aurelis shell. /help for commands, Ctrl-C cancels an answer, Ctrl-D leaves."


def history_path() -> Path:
    """The shell history file (created on first use)."""
    override = os.environ.get(HISTORY_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("aurelis")) / "shell_history"


class Shell:
    """One session: reads input, runs commands and requests, never dies on a failure."""

    def __init__(self, state: ShellState, console: Console) -> None:
        self.state = state
        self.console = console

    # --- one input ---------------------------------------------------------------------
    async def handle(self, text: str) -> bool:
        """Process one submitted input; False when the shell should end."""
        text = text.strip()
        if not text:
            return True
        if is_command(text):
            return await self._command(text)
        await self._request(text)
        return True

    async def _command(self, text: str) -> bool:
        outcome = run_command(text, self.state)
        if outcome.exit:
            return False
        if outcome.clear_screen:
            self.console.clear()
        if outcome.show_stats:
            await self._print_stats()
        if outcome.message:
            self.console.print(Text(outcome.message, style="red" if outcome.error else "cyan"))
        return True

    async def _print_stats(self) -> None:
        table = Table(title="Statistics", title_justify="left", show_header=False)
        table.add_column("name")
        table.add_column("value", overflow="fold")
        for key, value in self.state.session_stats().items():
            table.add_row(f"session {key}", str(value))
        for key, value in _flatten(runtime.orchestrator().get_stats()):
            table.add_row(key, value)
        self.console.print(table)

    # --- requests ----------------------------------------------------------------------
    def _detect(self, prompt: str) -> TaskDetection:
        if self.state.task is not None:
            return TaskDetection(self.state.task, "set with /task")
        return detect_task(prompt, has_code=self.state.context is not None)

    def build_request(self, prompt: str) -> tuple[ModelRequest, TaskDetection]:
        detection = self._detect(prompt)
        context = self.state.context
        metadata: dict[str, Any] = {"source": "cli-shell"}
        if context is not None:
            metadata.update(context.as_metadata())
        request = ModelRequest(
            prompt=prompt,
            task_type=detection.task,
            model_type=self.state.model,
            system_prompt=self.state.system,
            context=context.as_context() if context else None,
            metadata=metadata,
        )
        return request, detection

    async def _request(self, prompt: str) -> None:
        try:
            request, detection = self.build_request(prompt)
            model = expected_model(request, runtime.config()).value
        except Exception as error:  # noqa: BLE001 - reported, the shell goes on
            self._print_error(error)
            return
        self.console.print(
            Text(f"task: {detection.task.value} ({detection.reason}) → model: {model}", style="dim")
        )
        context = self.state.context
        language = (context.language if context else None) or language_in_prompt(prompt)
        writer = make_writer(self.console, language=language)
        started = time.perf_counter()
        self.state.requests += 1
        try:
            finished = await run_cancellable(lambda: self._stream(request, writer.feed))
        except Exception as error:  # noqa: BLE001
            finished = None
            self.state.failures += 1
            writer.finish()
            self._print_error(error)
        else:
            writer.finish()
        self.state.seconds += time.perf_counter() - started
        if finished is not None:
            self._report(finished, model, writer.text, time.perf_counter() - started)

    def _report(self, finished: bool, model: str, text: str, elapsed: float) -> None:
        if not finished:
            self.state.cancelled += 1
            self.console.print(Text("cancelled", style="yellow"))
            return
        tokens = count_tokens(text)
        self.state.tokens += tokens
        self.console.print(
            Text(
                summary_line(model=model, tokens=tokens, seconds=elapsed, approximate=True),
                style="dim",
            )
        )

    async def _stream(self, request: ModelRequest, feed: Callable[[str], None]) -> None:
        stream = runtime.orchestrator().stream_request(request)
        try:
            async for chunk in stream:
                feed(chunk)
        finally:
            if hasattr(stream, "aclose"):
                await stream.aclose()

    def _print_error(self, error: BaseException) -> None:
        message, hint = describe_error(error)
        self.console.print(Text(f"error: {message}", style="red"))
        if hint:
            self.console.print(Text(f"hint: {hint}", style="dim"))


async def run_cancellable(start: Callable[[], Awaitable[None]]) -> bool:
    """Run `start()` as a task that SIGINT (Ctrl-C) cancels; False when it was cancelled.

    Only the request is cancelled: the handler is installed for its duration and the
    previous one restored afterwards, so Ctrl-C never reaches the shell's own loop.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(start())
    previous = signal.getsignal(signal.SIGINT)
    installed = False
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        pass  # not the main thread, or no signals (Windows): Ctrl-C behaves as usual
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
    if task.cancelled():
        return False
    task.result()
    return True


# --- input loops -----------------------------------------------------------------------------
async def interactive_loop(shell: Shell) -> None:
    """The prompt_toolkit session."""
    session = _prompt_session()
    shell.console.print(Text(WELCOME, style="dim"))
    while True:
        try:
            text = await session.prompt_async(_prompt_message(shell.state))
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            break
        if not await shell.handle(text):
            break


def _prompt_message(state: ShellState) -> str:
    tags = [
        value
        for value in (
            state.model and state.model.value,
            state.task and state.task.value,
            state.context and state.context.label,
        )
        if value
    ]
    return f"aurelis[{' '.join(tags)}]> " if tags else "aurelis> "


def _prompt_session() -> Any:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter

    history, warning = open_history(history_path())
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return PromptSession(
        history=history,
        multiline=True,
        key_bindings=_key_bindings(),
        prompt_continuation=lambda width, line_number, wrap_count: "." * (width - 1) + " ",
        completer=WordCompleter(list(COMMANDS) + ["/quit"], sentence=True),
        complete_while_typing=False,
        enable_open_in_editor=False,
    )


def _key_bindings() -> Any:
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: Any) -> None:
        buffer = event.current_buffer
        if needs_more_input(buffer.text):
            if buffer.text.rstrip(" ").endswith("\\") and buffer.cursor_position == len(
                buffer.text
            ):
                buffer.text = buffer.text.rstrip(" ")[:-1]
                buffer.cursor_position = len(buffer.text)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


async def plain_loop(shell: Shell) -> None:
    """Line-by-line input when stdin is not a terminal (pipes, scripts)."""
    pending: list[str] = []
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if text.endswith("\\"):
            pending.append(text[:-1])
            continue
        pending.append(text)
        joined = "\n".join(pending)
        if needs_more_input(joined):
            continue
        pending = []
        if not await shell.handle(joined):
            return
    if pending:
        await shell.handle("\n".join(pending))


def _flatten(stats: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in stats.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{name}."))
        elif isinstance(value, float):
            rows.append((name, f"{value:.3g}"))
        else:
            rows.append((name, str(value)))
    return rows


def shell_command(
    model: Annotated[
        str | None, typer.Option("--model", "-m", show_default=False, help="Start with this model.")
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", show_default=False, help="Start with this task forced.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", show_default=False, help="Start with this file as context."),
    ] = None,
    lines: Annotated[
        str | None, typer.Option("--lines", show_default=False, help="Only these lines of --file.")
    ] = None,
) -> None:
    """Interactive session: history, multi-line input, streaming, slash commands."""
    with error_boundary(debug=runtime.STATE.debug):
        runtime.config()
        state = ShellState(
            model=parse_model(model),
            task=parse_task(task) if task else None,
            context=load_file_context(file, lines) if file else None,
        )
        shell = Shell(state, runtime.stdout_console())
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        loop = interactive_loop if interactive else plain_loop
        runtime.run_async(lambda: loop(shell))
