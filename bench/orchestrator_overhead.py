"""Orchestrator overhead per uncached request over the bare SDK call (target: p50 < 1 ms).

    PYTHONPATH=server .venv/bin/python bench/orchestrator_overhead.py [--n 2000]

Both sides call the same loopback model server (a subprocess) with the same messages
through azure-ai-inference's async ChatCompletionsClient (`retry_total=0`). Calls are
interleaved (bare, orchestrator, bare, ...) so drift on a shared machine hits both alike.
Each orchestrator request has a new prompt, so it misses the cache and takes the whole
path: routing, key, single-flight, fallback chain, breaker, rate limiter, retries, prompt
building, stats, response.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

from _common import TOKEN, ms, p50, p95, remote_config
from _server import server_process
from azure.ai.inference.aio import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential

from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import ModelOrchestrator
from aurelis.models.prompts import SYSTEM_PROMPTS

DEPLOYMENT = "openai/gpt-4o-mini"


async def main(n: int) -> None:
    with server_process() as url:
        # No client-side windows: 2 x n requests in a row would otherwise be throttled.
        remote_config(url, rate_limits={"gpt-4o-mini": {"per_minute": None, "per_day": None}})
        orchestrator = ModelOrchestrator()
        bare = ChatCompletionsClient(
            endpoint=url, credential=AzureKeyCredential(TOKEN), retry_total=0
        )
        system = SYSTEM_PROMPTS[ModelRequest(prompt="x").task_type]

        async def sdk(i: int) -> None:
            await bare.complete(
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": f"question number {i}"},
                ],
                model=DEPLOYMENT,
                temperature=0.1,
                max_tokens=4096,
            )

        async def ours(i: int) -> None:
            response = await orchestrator.process_request(
                ModelRequest(prompt=f"question number {i}", model_type=ModelType.GPT_4O_MINI)
            )
            assert not response.cached

        for i in range(50):  # warm up both clients' connections and code paths
            await sdk(-i)
            await ours(-i - 1000)
        gc.collect()
        bare_samples, our_samples = [], []
        pairs = [(sdk, bare_samples), (ours, our_samples)]
        for i in range(n):
            pairs.reverse()  # alternate who goes first, so neither always pays the other's GC
            for call, samples in pairs:
                started = time.perf_counter()
                await call(i)
                samples.append(time.perf_counter() - started)
        await bare.close()
        await orchestrator.close()
    overhead = p50(our_samples) - p50(bare_samples)
    print(f"bare SDK      n={n}: p50 {ms(p50(bare_samples))}  p95 {ms(p95(bare_samples))}")
    print(f"orchestrator  n={n}: p50 {ms(p50(our_samples))}  p95 {ms(p95(our_samples))}")
    print(f"overhead p50: {ms(overhead)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
