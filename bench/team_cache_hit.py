"""Shared-cache hit through `process_request`: the memory tier misses, Redis answers
(goal: p50 <= 0.5 ms on loopback Redis).

    .venv/bin/python bench/team_cache_hit.py [--n 2000] [--size 4096]

A writer orchestrator answers `n` distinct requests from the loopback model server, which
stores them in the shared Redis tier. A second orchestrator in the same process, with its
own empty memory tier (what another process would have), then asks each of them once:
every timed request is a memory miss and a Redis hit. The model server must see no request
during the timed part.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server"), str(ROOT / "bench")]

from _common import prompt_of, remote_config  # noqa: E402
from tests.team.redis_process import RedisProcess  # noqa: E402

from aurelis.models import ModelRequest, ModelType, TaskType  # noqa: E402
from aurelis.models.orchestrator import ModelOrchestrator  # noqa: E402
from aurelis.testing import ModelServer  # noqa: E402


def requests(n: int, size: int) -> list[ModelRequest]:
    return [
        ModelRequest(
            prompt=prompt_of(size, seed=i),
            model_type=ModelType.CODESTRAL_2501,
            task_type=TaskType.REFACTORING,
            max_tokens=512,
        )
        for i in range(n)
    ]


async def main(n: int, size: int) -> None:
    redis = RedisProcess(Path(tempfile.mkdtemp(prefix="aurelis-bench-redis-"))).start()
    try:
        async with ModelServer() as server:
            unlimited = {"per_minute": None, "per_day": None, "concurrent": None}
            remote_config(
                server.url,
                redis_url=redis.url,
                cache_max_size=n * 2,
                rate_limits={ModelType.CODESTRAL_2501: unlimited},  # the fill is 1000 calls
            )
            batch = requests(n, size)
            writer = ModelOrchestrator()
            for request in batch:
                assert not (await writer.process_request(request)).cached
            await writer.close()
            reader = ModelOrchestrator()
            await reader.process_request(batch[0])  # connect and load the scripts first
            before = len(server.requests)
            gc.collect()
            samples = []
            for request in batch[1:]:
                started = time.perf_counter()
                response = await reader.process_request(request)
                samples.append(time.perf_counter() - started)
                assert response.cached, "every timed request must be a shared-cache hit"
            assert len(server.requests) == before, "no timed request may reach the server"
            await reader.close()
    finally:
        redis.stop()
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
    print(
        f"shared-cache hit, {size} B prompt, n={len(samples)}: p50 {p50:.3f} ms  p95 {p95:.3f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.size))
