"""Fixtures shared by every test: an isolated config and the loopback model server."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aurelis.core.config import AurelisConfig, reset_config
from aurelis.models import orchestrator as orchestrator_module
from aurelis.testing import ModelServer

TEST_TOKEN = "test-token-0123456789"


@pytest.fixture(autouse=True)
def isolated_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AurelisConfig]:
    """No test sees the developer's environment, user config or project file."""
    for name in list(os.environ):
        if name.startswith("AURELIS_") or name == "GITHUB_TOKEN":
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AURELIS_CONFIG_FILE", str(home / "config.toml"))
    monkeypatch.setenv("AURELIS_PROJECT_ROOT", str(home))
    monkeypatch.setenv("AURELIS_CACHE_DIR", str(home / "cache"))
    # The trust store (platformdirs data dir) of this test alone, inherited by subprocesses.
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    config = reset_config()
    orchestrator_module.reset_model_orchestrator()
    yield config
    orchestrator_module.reset_model_orchestrator()
    # Defaults alone: the environment may still hold a value a test made invalid on purpose.
    reset_config(AurelisConfig.defaults())


@pytest.fixture
async def model_server() -> AsyncIterator[ModelServer]:
    """A loopback chat-completions server in this test's event loop."""
    async with ModelServer(token=TEST_TOKEN) as server:
        yield server


@pytest.fixture
def remote_config(isolated_config: AurelisConfig, model_server: ModelServer) -> AurelisConfig:
    """The live config pointed at the loopback server, local fallback off."""
    isolated_config.update(
        {
            "provider": "azure",
            "endpoint": model_server.url,
            "token": TEST_TOKEN,
            "token_source": "AURELIS_TOKEN",
            "local_fallback": False,
        }
    )
    return isolated_config


def server_env(model_server: ModelServer, **extra: str) -> dict[str, str]:
    """Environment for a subprocess (LSP server, CLI) talking to `model_server`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AURELIS_")}
    env.pop("GITHUB_TOKEN", None)
    env.update(
        AURELIS_PROVIDER="azure",
        AURELIS_ENDPOINT=model_server.url,
        AURELIS_TOKEN=TEST_TOKEN,
        AURELIS_LOCAL_FALLBACK="false",
        AURELIS_CONFIG_FILE=str(Path(os.environ.get("AURELIS_CONFIG_FILE", "/nonexistent"))),
        AURELIS_PROJECT_ROOT=os.environ.get("AURELIS_PROJECT_ROOT", "/nonexistent"),
        AURELIS_CACHE_DIR=os.environ.get("AURELIS_CACHE_DIR", "/nonexistent"),
    )
    env.update(extra)
    return env


@pytest.fixture
def stalled_endpoint() -> Iterator[str]:
    """A port whose accept queue is full: a connect there hangs, nothing is ever sent."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield f"http://127.0.0.1:{port}"
    for sock in (*fillers, listener):
        sock.close()
