"""A batch of 200 against a server with 50 ms latency and a concurrency limit of 8.

    PYTHONPATH=server .venv/bin/python bench/orchestrator_batch.py [--runs 5]

Target: wall time within 10% of the ideal 200 / 8 x 50 ms = 1.25 s. The server (a
subprocess) refuses a 9th concurrent request with 429; the client is configured with the
same limit (`rate_limits`, which also sets the batch's default concurrency), no retries and
no fallback, so a single 429 would fail the run. For scale, the same 200 calls are also made
with the bare SDK client under an asyncio.Semaphore(8): the floor this machine allows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from _common import TOKEN, remote_config
from _server import server_process
from azure.ai.inference.aio import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential

from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import ModelOrchestrator

N, LATENCY, CONCURRENT = 200, 0.05, 8


async def one_run(url: str, run: int) -> float:
    remote_config(
        url,
        max_retries=0,
        fallback_chains={"gpt-4o-mini": []},
        rate_limits={
            "gpt-4o-mini": {"per_minute": None, "per_day": None, "concurrent": CONCURRENT}
        },
    )
    orchestrator = ModelOrchestrator()
    requests = [
        ModelRequest(prompt=f"run {run} item {i}", model_type=ModelType.GPT_4O_MINI)
        for i in range(N)
    ]
    await orchestrator.process_request(ModelRequest(prompt=f"warm-up {run}"))
    started = time.perf_counter()
    responses = await orchestrator.process_batch(requests)
    wall = time.perf_counter() - started
    assert all(r.content.endswith(f"item {i}") for i, r in enumerate(responses))
    await orchestrator.close()
    return wall


async def bare_run(url: str, run: int) -> float:
    client = ChatCompletionsClient(
        endpoint=url, credential=AzureKeyCredential(TOKEN), retry_total=0
    )
    limit = asyncio.Semaphore(CONCURRENT)

    async def one(i: int) -> None:
        async with limit:
            await client.complete(
                messages=[{"role": "user", "content": f"bare {run} {i}"}],
                model="openai/gpt-4o-mini",
            )

    await one(-1)
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(N)))
    wall = time.perf_counter() - started
    await client.close()
    return wall


def summary(name: str, walls: list[float], ideal: float) -> str:
    median = statistics.median(walls)
    return (
        f"{name}: median wall {median:.3f} s (+{(median / ideal - 1) * 100:.1f}% over "
        f"ideal {ideal:.3f} s); runs {', '.join(f'{w:.3f}' for w in walls)}"
    )


async def main(runs: int) -> None:
    script = {
        "defaults": {"*": {"latency": LATENCY}},
        "rate_limits": {"*": {"concurrent": CONCURRENT}},
    }
    ideal = N / CONCURRENT * LATENCY
    ours: list[float] = []
    bare: list[float] = []
    with server_process(script) as url:
        for run in range(runs):  # interleaved, so load on the machine hits both alike
            ours.append(await one_run(url, run))
            bare.append(await bare_run(url, run))
    print(f"batch of {N}, {LATENCY * 1000:.0f} ms latency, {CONCURRENT} concurrent, {runs} runs")
    print(summary("aurelis process_batch", ours, ideal))
    print(summary("bare SDK + semaphore ", bare, ideal))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
