"""Nothing in the workspace is imported: every way of starting Aurelis, with cwd = a
workspace holding `secrets.py`, `uuid.py` and `ssl.py` that would leave a marker file.

Each entry point imports those standard modules (pydantic imports `secrets`, the HTTP
stack `ssl` and `uuid`); the control test shows the markers are written as soon as the
workspace is on the import path, so the other tests' "no marker" means something.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import cli_env

from aurelis.launch import drop_workspace_from_path
from aurelis.testing import ModelServer, Reply

SHADOWED = ("secrets", "uuid", "ssl")
CONSOLE_SCRIPT = Path(sys.executable).parent / "aurelis"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A hostile workspace: each module records that it ran, then fails the import."""
    root = tmp_path / "workspace"
    root.mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    for name in SHADOWED:
        marker = markers / name
        (root / f"{name}.py").write_text(
            f"open({str(marker)!r}, 'w').write('imported from the workspace')\n"
            f"raise ImportError('workspace {name}.py was imported')\n",
            encoding="utf-8",
        )
    return root


def markers_written(workspace: Path) -> list[str]:
    return sorted(path.name for path in (workspace.parent / "markers").iterdir())


# --------------------------------------------------------------------------- the CLI


def ask(command: list[str], workspace: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command, "ask", "--no-stream", "say hi"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "aurelis"], id="python -m aurelis"),
        pytest.param([sys.executable, "-P", "-m", "aurelis"], id="python -P -m aurelis"),
        pytest.param([str(CONSOLE_SCRIPT)], id="console script"),
    ],
)
def test_ask_from_a_hostile_workspace_imports_nothing_from_it(
    command: list[str], workspace: Path, thread_server: ModelServer
) -> None:
    # scripts/setup.sh installs the package (and its console script) into the venv.
    assert Path(command[0]).exists(), f"{command[0]} missing: run scripts/setup.sh local,dev"
    thread_server.set_default("*", Reply(content="hello from the model"))
    done = ask(command, workspace, cli_env(thread_server))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from the model"
    assert markers_written(workspace) == []


def test_control_the_markers_are_written_when_the_workspace_is_importable(
    workspace: Path, thread_server: ModelServer, tmp_path: Path
) -> None:
    # The same command with the workspace on PYTHONPATH (and another cwd): the shadowing
    # modules run. Without this, "no marker" could mean the modules were never needed.
    env = cli_env(thread_server)
    env["PYTHONPATH"] = f"{workspace}{os.pathsep}{env['PYTHONPATH']}"
    done = ask([sys.executable, "-m", "aurelis"], tmp_path, env)
    assert done.returncode != 0
    assert markers_written(workspace) != []


def test_control_the_server_imports_them_when_the_workspace_is_importable(
    workspace: Path, tmp_path: Path
) -> None:
    env = cli_env(None)
    env["PYTHONPATH"] = f"{workspace}{os.pathsep}{env['PYTHONPATH']}"
    subprocess.run(
        [sys.executable, "-m", "aurelis.lsp"],
        cwd=tmp_path,
        env=env,
        input=b"",
        capture_output=True,
        timeout=60,
    )
    assert markers_written(workspace) != []


# --------------------------------------------------------------------------- sys.path


def test_the_cwd_and_empty_entries_leave_the_path(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    stdlib = os.path.dirname(os.__file__)
    monkeypatch.setattr(sys, "path", [str(workspace), stdlib, "", "."])
    assert drop_workspace_from_path() == [str(workspace), "", "."]
    assert sys.path == [stdlib]


def test_the_directory_holding_the_package_stays_even_as_the_cwd(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An editable install (a .pth) or PYTHONPATH put it there; a developer may run from it.
    import aurelis

    source_root = str(Path(aurelis.__file__).resolve().parents[1])
    monkeypatch.chdir(source_root)
    monkeypatch.setattr(sys, "path", ["", source_root])
    drop_workspace_from_path()
    assert sys.path == [source_root]


# --------------------------------------------------------------------------- the server


class LspPipe:
    """A language client on a subprocess's pipes that answers the server's requests."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._fd = process.stdout.fileno()
        self._data = b""

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self._stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self._stdin.flush()

    def request(self, request_id: int, method: str, params: Any = None) -> dict[str, Any]:
        self.send({"id": request_id, "method": method, "params": params})
        while True:
            message = self._read()
            if "method" in message and "id" in message:  # e.g. workspace/configuration
                items = (message.get("params") or {}).get("items", [])
                self.send({"id": message["id"], "result": [None] * len(items)})
            elif message.get("id") == request_id:
                return message

    def _read(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            header_end = self._data.find(b"\r\n\r\n")
            if header_end >= 0:
                headers = self._data[:header_end].decode()
                length = int(headers.split("Content-Length:")[1].split("\r\n")[0])
                start = header_end + 4
                if len(self._data) >= start + length:
                    body = self._data[start : start + length]
                    self._data = self._data[start + length :]
                    return dict(json.loads(body))
            left = deadline - time.monotonic()
            assert left > 0, f"no LSP message within {timeout}s"
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                assert chunk, "the server closed stdout"
                self._data += chunk


def serve_a_session(command: list[str], workspace: Path, env: dict[str, str]) -> dict[str, Any]:
    """initialize, initialized, a code action (config and orchestrator loaded), shutdown."""
    process = subprocess.Popen(
        command,
        cwd=workspace,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = LspPipe(process)
        root = workspace.as_uri()
        init = client.request(
            1, "initialize", {"processId": None, "rootUri": root, "capabilities": {}}
        )
        client.send({"method": "initialized", "params": {}})
        uri = (workspace / "main.py").as_uri()
        client.send(
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": uri,
                        "languageId": "python",
                        "version": 1,
                        "text": "x = 1\n",
                    }
                },
            }
        )
        origin = {"line": 0, "character": 0}
        actions = client.request(
            2,
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": origin, "end": origin},
                "context": {"diagnostics": []},
            },
        )
        assert "result" in actions, actions
        client.request(3, "shutdown")
        client.send({"method": "exit"})
        assert process.wait(timeout=30) == 0
        return init
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-m", "aurelis", "serve"], id="python -m aurelis serve"),
        pytest.param([sys.executable, "-m", "aurelis.lsp"], id="python -m aurelis.lsp"),
        pytest.param([sys.executable, "-P", "-m", "aurelis", "serve"], id="python -P"),
        pytest.param([str(CONSOLE_SCRIPT), "serve"], id="aurelis serve"),
    ],
)
def test_the_server_started_in_a_hostile_workspace_imports_nothing_from_it(
    command: list[str], workspace: Path, thread_server: ModelServer
) -> None:
    # scripts/setup.sh installs the package (and its console script) into the venv.
    assert Path(command[0]).exists(), f"{command[0]} missing: run scripts/setup.sh local,dev"
    init = serve_a_session(command, workspace, cli_env(thread_server))
    assert "capabilities" in init["result"]
    assert markers_written(workspace) == []
