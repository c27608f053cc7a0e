"""Fixtures for the end-to-end tests: the language server as a subprocess driven by
pytest-lsp, the loopback model server in a thread so the subprocess can reach it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig
from tests.conftest import TEST_TOKEN, server_env
from tests.lsp.harness import (
    SERVER_COMMAND,
    SERVER_DIR,
    TIMEOUT,
    AurelisTestClient,
    capabilities,
    make_client,
)

from aurelis.testing import ModelServer

FIXTURE_PROJECT = Path(__file__).resolve().parents[1] / "fixtures" / "lsp_project"


@pytest.fixture(scope="session")
def model_backend() -> Iterator[ModelServer]:
    """One loopback model server for the session, on its own thread."""
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    yield server
    server.stop_thread()


@pytest.fixture
def model(model_backend: ModelServer) -> Iterator[ModelServer]:
    """The model server with a clean script and no recorded requests."""
    model_backend.reset()
    yield model_backend
    model_backend.reset()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the fixture project (tests add files to it freely)."""
    target = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, target)
    return target


Starter = Callable[..., Any]


@pytest.fixture
async def start_lsp(
    model: ModelServer, project: Path, isolated_config: Any
) -> AsyncIterator[Starter]:
    """`await start_lsp(**options)` → an initialized client; every client is shut down after."""
    clients: list[AurelisTestClient] = []

    async def start(
        *,
        root: Path | None = project,
        init_options: Any = None,
        client_capabilities: types.ClientCapabilities | None = None,
        env: dict[str, str] | None = None,
        configuration: dict[str, Any] | None = None,
        args: list[str] | None = None,
    ) -> AurelisTestClient:
        extra = {"AURELIS_CACHE_ENABLED": "false", "PYTHONPATH": str(SERVER_DIR), **(env or {})}
        config = ClientServerConfig(
            server_command=[*SERVER_COMMAND, *(args or [])],
            server_env=server_env(model, **extra),
            client_factory=lambda: make_client(configuration),
        )
        client = await config.start()
        clients.append(client)
        folders = [types.WorkspaceFolder(uri=root.as_uri(), name=root.name)] if root else None
        params = types.InitializeParams(
            capabilities=client_capabilities or capabilities(),
            root_uri=root.as_uri() if root else None,
            workspace_folders=folders,
            initialization_options=init_options,
        )
        client.initialize_result = await asyncio.wait_for(
            client.initialize_session(params), TIMEOUT
        )
        return client

    yield start
    for client in clients:
        try:
            await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
        except Exception:  # noqa: BLE001 - a test may have killed the server on purpose
            pass
        await client.stop()


@pytest.fixture
async def lsp(start_lsp: Starter) -> AurelisTestClient:
    """A server on the fixture project, default settings, a capable client."""
    return await start_lsp()
