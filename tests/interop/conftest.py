"""The real llama-cpp-python OpenAI-compatible server on the embedded GGUF.

`llama_server` is one server for the whole session (chat, streams, token counts); tests
that freeze or kill a server start their own with `start_llama_server`. Every server is
killed at the end, also when it was left stopped (SIGSTOP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.interop.llama_server import LlamaServer, launch

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `-m "not interop"` skips the suite that starts real servers.
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    # Only a disconnect may stop a stream here (the default also stops one when another
    # request arrives): the stricter setting for abandoned work, and a server that lets a
    # test hold its single model slot.
    server = launch(tmp_path_factory.mktemp("llama"), "--interrupt_requests", "false")
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def start_llama_server(tmp_path: Path) -> Iterator[Callable[..., LlamaServer]]:
    """Start a server of this test's own (to freeze or kill); killed when the test ends."""
    started: list[LlamaServer] = []

    def start(*extra: str) -> LlamaServer:
        server = launch(tmp_path, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
