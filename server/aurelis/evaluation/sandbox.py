"""Running generated code: in a child process, in a scratch directory, with a timeout,
resource limits and no network.

The network is cut twice: the child enters a network namespace of its own where the OS
allows it (only a loopback that is down), and an audit hook installed before the program
runs refuses every socket connect, bind and DNS lookup. Generated code is never imported
into this process.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RunResult", "run_isolated"]

_CLONE_NEWNET = 0x40000000
_MEMORY_BYTES = 1024 * 1024 * 1024
_FILE_BYTES = 16 * 1024 * 1024
# Runs first in the child: the program itself is executed by runpy after it.
_GUARD = """
import sys
def _refuse(event, args):
    if event in ("socket.connect", "socket.bind", "socket.getaddrinfo", "socket.sendto",
                 "socket.gethostbyname", "socket.gethostbyaddr", "urllib.Request"):
        raise PermissionError("network access is disabled for generated code")
sys.addaudithook(_refuse)
import runpy
runpy.run_path("program.py", run_name="__main__")
"""


@dataclass(frozen=True)
class RunResult:
    passed: bool
    outcome: str  # "passed", "failed", "timeout"
    detail: str


def _isolate() -> None:
    """In the child, before exec: no network, bounded memory, files and CPU."""
    import resource

    try:
        ctypes.CDLL(None, use_errno=True).unshare(_CLONE_NEWNET)
    except (OSError, AttributeError):
        pass  # not permitted here: the audit hook still refuses sockets
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_BYTES, _MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (_FILE_BYTES, _FILE_BYTES))
    os.setsid()


def run_isolated(program: str, timeout: float = 10.0) -> RunResult:
    """Run `program` (Python source) and say whether it exited 0 within `timeout`."""
    with tempfile.TemporaryDirectory(prefix="aurelis-eval-") as scratch:
        Path(scratch, "program.py").write_text(program, encoding="utf-8")
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch}
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", _GUARD],
                cwd=scratch,
                env=environment,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                preexec_fn=_isolate,
            )
        except subprocess.TimeoutExpired:
            return RunResult(False, "timeout", f"no result within {timeout:g} s")
    if done.returncode == 0:
        return RunResult(True, "passed", "")
    last = (done.stderr.strip().splitlines() or ["exit code " + str(done.returncode)])[-1]
    return RunResult(False, "failed", last[:200])
