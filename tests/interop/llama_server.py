"""Starting and driving the real llama-cpp-python server (`python -m llama_cpp.server`).

sse-starlette's keep-alive interval (15 s) cannot be shortened through the server's
settings: llama-cpp-python passes no `ping` to EventSourceResponse, only
`--disable_ping_events`. The test that needs a keep-alive mid-answer therefore waits one
interval.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: The name the server answers to (`model` in requests, `deployments.*` in our config).
ALIAS = "gemma-interop"
#: The server's context window, as users start it (FACTS.md, round 2).
CONTEXT = 4096
_STARTUP_SECONDS = 120.0


@dataclass
class LlamaServer:
    """One running `python -m llama_cpp.server`."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    stopped: bool = field(default=False)

    @property
    def url(self) -> str:
        """The endpoint as Aurelis takes it (the client appends /chat/completions)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def freeze(self) -> None:
        """SIGSTOP: the socket stays open, nothing answers."""
        os.kill(self.process.pid, signal.SIGSTOP)
        self.stopped = True

    def thaw(self) -> None:
        if self.stopped:
            os.kill(self.process.pid, signal.SIGCONT)
            self.stopped = False

    def kill(self) -> None:
        self.thaw()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)

    def post(self, path: str, body: dict[str, object], timeout: float = 120.0) -> object:
        """A plain JSON request (test set-up that must not go through Aurelis)."""
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _gguf() -> Path:
    from aurelis.models.providers.local import default_model_path

    return default_model_path()


def _wait_until_ready(server: LlamaServer) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited at start-up:\n{server.log()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"llama_cpp.server not ready in {_STARTUP_SECONDS:g}s:\n{server.log()}")


def launch(log_dir: Path, *extra: str) -> LlamaServer:
    pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server] (dev extra)")
    port = _free_port()
    log_path = log_dir / f"llama-server-{port}.log"
    if "--n_ctx" not in extra:
        extra = ("--n_ctx", str(CONTEXT), *extra)
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(_gguf()),
        "--model_alias",
        ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        "2",
        *extra,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = LlamaServer(process, port, log_path)
    _wait_until_ready(server)
    return server
