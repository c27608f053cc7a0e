"""Helpers for the CLI tests: run `python -m aurelis` as a subprocess or on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import server_env

from aurelis.testing import ModelServer

SERVER_DIR = str(Path(__file__).resolve().parents[2] / "server")
ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]"
    r"|\x1b[=>78]"
)


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text).replace("\r", "")


def cli_env(server: ModelServer | None, **extra: str) -> dict[str, str]:
    """Environment for `python -m aurelis` subprocesses; offline when `server` is None."""
    if server is not None:
        env = server_env(server, AURELIS_MAX_RETRIES="0")
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AURELIS_")}
        env.pop("GITHUB_TOKEN", None)
        for name in ("AURELIS_CONFIG_FILE", "AURELIS_PROJECT_ROOT", "AURELIS_CACHE_DIR"):
            env[name] = os.environ[name]
    env["PYTHONPATH"] = SERVER_DIR + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], *, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m aurelis ARGS` as a real process (stdout and stderr are pipes)."""
    return subprocess.run(
        [sys.executable, "-m", "aurelis", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class PtyProcess:
    """A child process on a pseudo-terminal, driven like a user at a keyboard."""

    def __init__(
        self, argv: list[str], env: dict[str, str], *, rows: int = 40, cols: int = 120
    ) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once (forkpty made the pty its controlling tty)
            os.execve(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        import fcntl
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.raw = ""
        self._seen = 0
        self.exit_code: int | None = None

    @property
    def text(self) -> str:
        return strip_ansi(self.raw)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.raw += data.decode("utf-8", "replace")
        return True

    def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """Wait for `pattern` (regex) in the output after the last match."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.text, self._seen)
            if match:
                self._seen = match.end()
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                tail = self.text[-1500:]
                raise AssertionError(f"{pattern!r} not seen within {timeout}s; output:\n{tail}")
            self._read(min(left, 0.2))

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def sendline(self, text: str) -> None:
        self.send(text + "\r")

    def wait(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_code = os.waitstatus_to_exitcode(status)
                return self.exit_code
        raise AssertionError(f"process still running after {timeout}s:\n{self.text[-1500:]}")

    def alive(self) -> bool:
        if self.exit_code is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid:
            self.exit_code = os.waitstatus_to_exitcode(status)
            return False
        return True

    def close(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)
