"""One team member's Aurelis process, for the team-scale tests and bench/team_ratelimit.py.

Reads its settings from the environment (AURELIS_*), prints READY once imported and set
up, waits for a line on stdin (so several processes start their requests together), sends
the requests of its JSON spec through `process_request`, and prints one JSON report:
per request ok/model/cached/shared/error/ms, and the orchestrator's stats.

    python tests/team/worker.py '{"requests": [{"prompt": "hi"}], "concurrency": 4}'
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from aurelis.models import ModelRequest, get_model_orchestrator


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    orchestrator = get_model_orchestrator()
    requests = [ModelRequest(**item) for item in spec["requests"]]
    gate = asyncio.Semaphore(int(spec.get("concurrency") or len(requests) or 1))
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    started = time.perf_counter()

    async def one(request: ModelRequest) -> dict[str, Any]:
        async with gate:
            begun = time.perf_counter()
            try:
                response = await orchestrator.process_request(request)
            except Exception as error:  # noqa: BLE001 - reported, that is the point
                return {
                    "ok": False,
                    "error": type(error).__name__,
                    "message": str(error),
                    "ms": (time.perf_counter() - begun) * 1000,
                }
            metadata = response.metadata or {}
            return {
                "ok": True,
                "model": response.model_used.value,
                "content": response.content,
                "cached": response.cached,
                "shared": bool(metadata.get("shared")),
                "fallback_from": metadata.get("fallback_from") or [],
                "ms": (time.perf_counter() - begun) * 1000,
                "done_at": time.time(),
            }

    results = await asyncio.gather(*(one(request) for request in requests))
    report = {
        "results": results,
        "elapsed": time.perf_counter() - started,
        "stats": orchestrator.get_stats(),
    }
    await orchestrator.close()
    return report


def main() -> None:
    spec = json.loads(sys.argv[1])
    report = asyncio.run(run(spec))
    print(json.dumps(report, default=str), flush=True)


if __name__ == "__main__":
    main()
