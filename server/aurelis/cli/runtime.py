"""What every command shares: the --debug flag, logging, consoles and the event loop.

Each command runs its async work in one `asyncio.run` and closes the orchestrator before
the loop ends, so HTTP clients never outlive the loop they were created on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console

from aurelis.core.config import AurelisConfig, get_config
from aurelis.core.log import configure_logging

if TYPE_CHECKING:
    from aurelis.models import ModelOrchestrator

__all__ = [
    "CliState",
    "STATE",
    "COMMANDS_WITHOUT_CONFIG",
    "configure_runtime",
    "run_async",
    "orchestrator",
    "config",
    "stdout_console",
    "table_console",
    "stderr_console",
]

T = TypeVar("T")
#: Width of tables written to a pipe or file (no terminal to measure).
PIPED_TABLE_WIDTH = 160
#: Commands that act on the project settings file itself. Loading the config for them (to
#: find a log file) would warn, just before they act, that the settings they are about to
#: trust or untrust are ignored; they need no config, so none is loaded.
COMMANDS_WITHOUT_CONFIG = frozenset({"trust", "untrust"})


@dataclass
class CliState:
    """Options of the root command that every subcommand honours."""

    debug: bool = False


STATE = CliState()


def configure_runtime(*, debug: bool, command: str | None = None) -> None:
    """Apply the root options: --debug logs to stderr, otherwise logs stay quiet.

    Without a handler Python's last-resort handler would print the orchestrator's
    warnings on stderr next to our one-line error; a log file from the config still works
    (except for `command`s in COMMANDS_WITHOUT_CONFIG, which never load the config).
    """
    STATE.debug = debug
    logger = logging.getLogger("aurelis")
    if debug:
        configure_logging("DEBUG")
        return
    settings = None if command in COMMANDS_WITHOUT_CONFIG else _config_or_none()
    if settings is not None and settings.log_file is not None:
        configure_logging(settings.log_level, settings.log_file)
    elif not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _config_or_none() -> AurelisConfig | None:
    # A broken config is reported by the command that needs it, with its own exit code.
    try:
        return get_config()
    except Exception:  # noqa: BLE001
        return None


def config() -> AurelisConfig:
    """The live settings (raises ConfigurationError, reported as exit code 2)."""
    return get_config()


def orchestrator() -> ModelOrchestrator:
    """The process-wide orchestrator, imported lazily (it pulls in the providers)."""
    from aurelis.models import get_model_orchestrator

    return get_model_orchestrator()


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main()` in a fresh event loop and close the orchestrator's clients after it."""

    async def wrapper() -> T:
        try:
            return await main()
        finally:
            await _close_orchestrator()

    return asyncio.run(wrapper())


async def _close_orchestrator() -> None:
    # Creating it just to close it is cheap: providers are only built on first use.
    await orchestrator().close()


def stdout_console() -> Console:
    """Console for results; colour and highlighting only on a terminal."""
    return Console(highlight=False, soft_wrap=True, markup=False, emoji=False)


def table_console() -> Console:
    """Console for tables on stdout: wide when piped, so cells are not folded to 80 columns."""
    console = stdout_console()
    if not console.is_terminal:
        console.width = PIPED_TABLE_WIDTH
    return console


def stderr_console() -> Console:
    """Console for progress, summaries and tables about the run."""
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
