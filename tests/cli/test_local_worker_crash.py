"""The CLI outlives a crash of the embedded model's process: one clear error and the
documented exit code 1 (a model failure), never a segmentation fault of its own (139)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env

WORKER_MODULE = "aurelis.models.providers.local_worker"
LOADED_BYTES = 150 * 2**20  # the 270M GGUF mapped and its buffers allocated


def workers_of(pid: int) -> list[int]:
    """The embedded-model workers among `pid`'s children."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in map(int, children):
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            if WORKER_MODULE.encode() in cmdline:
                found.append(child)
    return found


def resident_bytes(pid: int) -> int:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def loaded_worker(cli: subprocess.Popen[str], within: float) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and cli.poll() is None:
        for worker in workers_of(cli.pid):
            if resident_bytes(worker) > LOADED_BYTES:
                return worker
        time.sleep(0.05)
    raise AssertionError("no loaded model worker appeared under the CLI")


@pytest.mark.local_model
def test_generate_with_a_crashing_model_worker_exits_1_with_a_clear_message() -> None:
    prompt = "Write a long story about numbers, one paragraph per number from one to fifty"
    cli = subprocess.Popen(
        [sys.executable, "-m", "aurelis", "generate", "--no-stream", "--max-tokens", "900", prompt],
        env=cli_env(None, AURELIS_LOCAL_THREADS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker = loaded_worker(cli, within=120)
        os.kill(worker, signal.SIGSEGV)
        _, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()

    assert cli.returncode == 1, stderr
    assert "SIGSEGV" in stderr and "local model" in stderr
    assert "hint: " in stderr and "aurelis doctor" in stderr
    assert "Traceback" not in stderr
