"""Cache hit through `process_request` with a 4 KB prompt (target: p50 under 50 µs).

    PYTHONPATH=server .venv/bin/python bench/orchestrator_cache_hit.py [--n 20000]

The first request fills the cache from the loopback model server; every timed request is
an identical one answered from the in-memory cache through the full public path
(routing, key hashing, lookup, response building).
"""

from __future__ import annotations

import argparse
import asyncio
import gc

from _common import p50, p95, prompt_of, remote_config, timed, us

from aurelis.models import ModelRequest, ModelType, TaskType
from aurelis.models.orchestrator import ModelOrchestrator
from aurelis.testing import ModelServer


async def main(n: int, size: int) -> None:
    async with ModelServer() as server:
        remote_config(server.url)
        orchestrator = ModelOrchestrator()
        request = ModelRequest(
            prompt=prompt_of(size),
            model_type=ModelType.CODESTRAL_2501,
            task_type=TaskType.REFACTORING,
            max_tokens=512,
        )
        first = await orchestrator.process_request(request)
        assert not first.cached
        gc.collect()
        samples = await timed(lambda: orchestrator.process_request(request), n)
        last = await orchestrator.process_request(request)
        assert last.cached and len(server.requests) == 1, "every timed request must be a hit"
        await orchestrator.close()
    print(f"cache hit, {size} B prompt, n={n}: p50 {us(p50(samples))}  p95 {us(p95(samples))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=4096)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.size))
