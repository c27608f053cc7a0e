"""Fixtures for the CLI tests: a loopback model server on its own thread (the CLI runs its
own event loop), the typer runner in process, and `python -m aurelis` on a pseudo-terminal."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator

import pytest
from tests.cli.helpers import PtyProcess
from tests.conftest import TEST_TOKEN
from typer.testing import CliRunner, Result

from aurelis.cli.main import app
from aurelis.core.config import AurelisConfig
from aurelis.testing import ModelServer


@pytest.fixture(autouse=True)
def restore_aurelis_logger() -> Iterator[None]:
    """`--debug` installs a stderr handler bound to the runner's stream; undo it after."""
    logger = logging.getLogger("aurelis")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def thread_server() -> Iterator[ModelServer]:
    """A loopback chat-completions server on a background thread (token required)."""
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def cli_remote(isolated_config: AurelisConfig, thread_server: ModelServer) -> AurelisConfig:
    """The live config pointed at the thread server: no local fallback, no retries."""
    isolated_config.update(
        {
            "provider": "azure",
            "endpoint": thread_server.url,
            "token": TEST_TOKEN,
            "token_source": "AURELIS_TOKEN",
            "local_fallback": False,
            "max_retries": 0,
        }
    )
    return isolated_config


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """Run the CLI in this process: invoke(["ask", "hi"], input=None) -> Result."""
    runner = CliRunner()

    def run(args: list[str], input: str | None = None) -> Result:
        return runner.invoke(app, args, input=input, prog_name="aurelis")

    return run


@pytest.fixture
def spawn() -> Iterator[Callable[..., PtyProcess]]:
    """spawn(args, env) -> PtyProcess running `python -m aurelis ARGS` on a pty."""
    started: list[PtyProcess] = []

    def start(args: list[str], env: dict[str, str]) -> PtyProcess:
        env = {**env, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
        env.pop("NO_COLOR", None)
        process = PtyProcess([sys.executable, "-m", "aurelis", *args], env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()
