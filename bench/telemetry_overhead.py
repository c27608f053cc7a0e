"""What telemetry costs per uncached request: Prometheus on against off, side by side.

    PYTHONPATH=server .venv/bin/python bench/telemetry_overhead.py [--n 1500]

One process, one loopback model server (a subprocess), three clients called in turn
(rotating who goes first): the bare azure-ai-inference client, an orchestrator with
telemetry off (the plain pipeline), and one with Prometheus on (`metrics_port`: the
recorded pipeline, metrics served on 127.0.0.1 and scraped once a second meanwhile, as
Prometheus would). Interleaving makes a shared machine's drift hit all three alike.
Reports each p50/p95, the orchestrators' overhead over the bare call, and the ratios.
Target (docs/telemetry.md): Prometheus on within 10 % of off, whole request time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import time
import urllib.request

from _common import TOKEN, ms, p50, p95, remote_config
from _server import server_process
from azure.ai.inference.aio import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential

from aurelis.models import ModelRequest, ModelType, telemetry
from aurelis.models.orchestrator import ModelOrchestrator
from aurelis.models.prompts import SYSTEM_PROMPTS

DEPLOYMENT = "openai/gpt-4o-mini"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _scrape_every_second(port: int) -> None:
    while True:
        await asyncio.sleep(1.0)
        await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        )


def through(orchestrator: ModelOrchestrator, tag: str):
    """One uncached request through `orchestrator` per call (prompts tagged per side)."""

    async def call(i: int) -> None:
        request = ModelRequest(
            prompt=f"{tag} question number {i}", model_type=ModelType.GPT_4O_MINI
        )
        assert not (await orchestrator.process_request(request)).cached

    return call


async def main(n: int) -> None:
    with server_process() as url:
        limits = {"gpt-4o-mini": {"per_minute": None, "per_day": None}}
        config = remote_config(url, rate_limits=limits)
        off = ModelOrchestrator()
        port = _free_port()
        config.metrics_port = port
        telemetry.install(config)
        on = ModelOrchestrator()
        assert type(on._pipeline).__name__ == "TracedPipeline"
        bare = ChatCompletionsClient(
            endpoint=url, credential=AzureKeyCredential(TOKEN), retry_total=0
        )
        system = SYSTEM_PROMPTS[ModelRequest(prompt="x").task_type]

        async def sdk(i: int) -> None:
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": f"question number {i}"},
            ]
            await bare.complete(
                messages=messages, model=DEPLOYMENT, temperature=0.1, max_tokens=4096
            )

        samples: dict[str, list[float]] = {"bare": [], "off": [], "on": []}
        calls = [(sdk, "bare"), (through(off, "off"), "off"), (through(on, "on"), "on")]
        for i in range(50):  # warm up connections and code paths
            for call, _ in calls:
                await call(-i - 1)
        scraper = asyncio.create_task(_scrape_every_second(port))
        gc.collect()
        for i in range(n):
            calls.append(calls.pop(0))  # rotate who goes first
            for call, name in calls:
                started = time.perf_counter()
                await call(i)
                samples[name].append(time.perf_counter() - started)
        scraper.cancel()
        await bare.close()
        await off.close()
        await on.close()
        telemetry.shutdown()
    report(n, samples["bare"], samples["off"], samples["on"])


def report(n: int, bare: list[float], off: list[float], on: list[float]) -> None:
    for name, samples in (("bare SDK", bare), ("telemetry off", off), ("prometheus on", on)):
        print(f"{name:14} n={n}: p50 {ms(p50(samples))}  p95 {ms(p95(samples))}")
    print(f"overhead p50: off {ms(p50(off) - p50(bare))}, on {ms(p50(on) - p50(bare))}")
    print(f"on / off, p50 request time: {p50(on) / p50(off):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1500)
    asyncio.run(main(parser.parse_args().n))
