"""Several real Aurelis processes started together (tests/team/worker.py)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["run_workers", "WORKER"]

WORKER = Path(__file__).with_name("worker.py")


async def run_workers(
    specs: list[dict[str, Any]],
    env: dict[str, str],
    *,
    within: float = 120,
    command: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Start one worker per spec, release them together, return their reports in order.

    `command` replaces `python tests/team/worker.py` (the bench runs LiteLLM's worker).
    """
    program = command or [sys.executable, str(WORKER)]
    processes = [
        await asyncio.create_subprocess_exec(
            *program,
            json.dumps(spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, **env},
        )
        for spec in specs
    ]
    try:
        async with asyncio.timeout(within):
            for process in processes:
                assert process.stdout is not None
                line = await process.stdout.readline()
                if line.strip() != b"READY":
                    raise RuntimeError(f"worker did not start: {line!r}")
            for process in processes:
                assert process.stdin is not None
                process.stdin.write(b"go\n")
                await process.stdin.drain()
            reports = []
            for process in processes:
                out, _ = await process.communicate()
                reports.append(json.loads(out.decode().strip().splitlines()[-1]))
            return reports
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
