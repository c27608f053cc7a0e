"""The shell's state and its slash commands, kept free of terminal I/O so they are easy
to test: each command changes the state and returns what to tell the user."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aurelis.cli.ask import parse_model, parse_task
from aurelis.cli.errors import CliUsageError
from aurelis.cli.file_context import FileContext, load_file_context
from aurelis.core.exceptions import AurelisError
from aurelis.models.types import ModelType, TaskType

__all__ = [
    "ShellState",
    "CommandOutcome",
    "COMMANDS",
    "HELP_TEXT",
    "is_command",
    "run_command",
    "needs_more_input",
]


@dataclass
class ShellState:
    """What the session remembers between prompts."""

    model: ModelType | None = None
    task: TaskType | None = None
    system: str | None = None
    context: FileContext | None = None
    requests: int = 0
    failures: int = 0
    cancelled: int = 0
    tokens: int = 0
    seconds: float = 0.0

    def reset(self) -> None:
        """Forget overrides and context (the statistics stay)."""
        self.model = self.task = self.system = self.context = None

    def session_stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "cancelled": self.cancelled,
            "tokens (approx.)": self.tokens,
            "time": f"{self.seconds:.2f}s",
        }


@dataclass(frozen=True)
class CommandOutcome:
    """What a slash command asks the shell to do."""

    message: str | None = None
    error: bool = False
    exit: bool = False
    clear_screen: bool = False
    show_stats: bool = False


COMMANDS = {
    "/model": "/model [NAME|auto]     use this model (auto: routing decides)",
    "/task": "/task [NAME|auto]      force a task (auto: detect it from each prompt)",
    "/system": "/system [TEXT|default] replace the system prompt",
    "/context": "/context [FILE [LINES]|off]  attach a file (or lines 10-40 of it) as context",
    "/clear": "/clear                 forget the context and overrides, clear the screen",
    "/stats": "/stats                 session and orchestrator statistics",
    "/help": "/help                  this help",
    "/exit": "/exit                  leave (Ctrl-D works too)",
}

HELP_TEXT = "\n".join(
    [
        *COMMANDS.values(),
        "",
        "Enter sends. For several lines: end a line with \\, press Esc then Enter, or open a",
        "``` block (Enter sends once it is closed). Ctrl-C cancels a running answer;",
        "each prompt is a new request (attach code with /context).",
    ]
)

_OFF = ("off", "none", "-", "default", "auto")


def is_command(line: str) -> bool:
    return line.startswith("/") and not line.startswith("//")


def needs_more_input(text: str) -> bool:
    """True while the text is unfinished: a trailing backslash or an open ``` block."""
    if text.rstrip(" ").endswith("\\"):
        return True
    fences = sum(1 for line in text.splitlines() if line.lstrip().startswith("```"))
    return fences % 2 == 1


def run_command(line: str, state: ShellState) -> CommandOutcome:
    """Apply one slash command to `state`."""
    name, _, argument = line.strip().partition(" ")
    argument = argument.strip()
    name = name.lower()
    if name in ("/exit", "/quit"):
        return CommandOutcome(exit=True)
    if name == "/help":
        return CommandOutcome(HELP_TEXT)
    if name == "/stats":
        return CommandOutcome(show_stats=True)
    if name == "/clear":
        state.reset()
        return CommandOutcome("context and overrides cleared", clear_screen=True)
    handler = _HANDLERS.get(name)
    if handler is None:
        return CommandOutcome(f"unknown command {name}; /help lists them", error=True)
    try:
        return handler(argument, state)
    except AurelisError as error:
        hint = f" ({error.hint})" if error.hint else ""
        return CommandOutcome(f"{error.message}{hint}", error=True)


def _model(argument: str, state: ShellState) -> CommandOutcome:
    if argument:
        state.model = parse_model(argument)
    shown = state.model.value if state.model else "auto (routing decides per task)"
    return CommandOutcome(f"model: {shown}")


def _task(argument: str, state: ShellState) -> CommandOutcome:
    if argument:
        state.task = None if argument.lower() == "auto" else parse_task(argument)
    shown = state.task.value if state.task else "auto (detected from each prompt)"
    return CommandOutcome(f"task: {shown}")


def _system(argument: str, state: ShellState) -> CommandOutcome:
    if argument:
        state.system = None if argument.lower() in _OFF else argument
    shown = repr(state.system) if state.system else "the task's default"
    return CommandOutcome(f"system prompt: {shown}")


def _context(argument: str, state: ShellState) -> CommandOutcome:
    if not argument:
        if state.context is None:
            return CommandOutcome("context: none (/context FILE [LINES] attaches one)")
        return CommandOutcome(f"context: {state.context.label}")
    if argument.lower() in _OFF:
        state.context = None
        return CommandOutcome("context: none")
    try:
        parts = shlex.split(argument)
    except ValueError:
        raise CliUsageError(f"cannot parse {argument!r}", hint="quote paths with spaces") from None
    if len(parts) > 2:
        raise CliUsageError("too many arguments", hint="/context FILE [LINES], e.g. app.py 10-40")
    path = Path(parts[0]).expanduser()
    state.context = load_file_context(path, parts[1] if len(parts) == 2 else None)
    lines = state.context.last_line - state.context.first_line + 1
    noun = "line" if lines == 1 else "lines"
    return CommandOutcome(f"context: {state.context.label} ({lines} {noun} attached)")


_HANDLERS = {"/model": _model, "/task": _task, "/system": _system, "/context": _context}
