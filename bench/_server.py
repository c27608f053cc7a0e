"""Start the loopback model server in a subprocess, so its CPU time stays out of the
event loop being measured."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from _common import SERVER


@contextlib.contextmanager
def server_process(script: dict[str, Any] | None = None) -> Iterator[str]:
    """Yields the server URL; the server answers per `script` (the --script JSON shape)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(script or {}, handle)
        path = handle.name
    env = {**os.environ, "PYTHONPATH": str(SERVER)}
    process = subprocess.Popen(
        [sys.executable, "-m", "aurelis.testing.model_server", "--port", "0", "--script", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"model server did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.unlink(path)
