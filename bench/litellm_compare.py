"""Side by side with LiteLLM's Router on the same loopback server and the same requests.

    pip install litellm fastapi orjson        # bench-only; never imported by aurelis
    PYTHONPATH=server .venv/bin/python bench/litellm_compare.py [--n 1000]

Both are set up alike: primary model Codestral with a fallback to GPT-4o-mini, 2 retries,
an in-memory response cache. Measured, interleaved request by request:
  * uncached request (new prompt each time), against each library's own bare SDK call
    (LiteLLM drives the openai SDK; Aurelis drives azure-ai-inference), so "overhead" is
    what the library adds on top of the HTTP client it uses;
  * cache hit with a 4 KB prompt.
LITELLM_LOCAL_MODEL_COST_MAP=True keeps LiteLLM from downloading its cost map at import.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from _common import TOKEN, ms, p50, p95, prompt_of, remote_config, us
from _server import server_process
from azure.ai.inference.aio import ChatCompletionsClient
from azure.core.credentials import AzureKeyCredential

from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import ModelOrchestrator
from aurelis.models.prompts import SYSTEM_PROMPTS

PRIMARY, FALLBACK = "mistral-ai/Codestral-2501", "openai/gpt-4o-mini"


def litellm_router(url: str):  # type: ignore[no-untyped-def]
    import litellm
    from litellm import Router
    from litellm.caching.caching import Cache

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.cache = Cache(type="local")
    params = {"api_base": url, "api_key": TOKEN}
    return Router(
        model_list=[
            {"model_name": "codestral", "litellm_params": {"model": f"openai/{PRIMARY}", **params}},
            {"model_name": "mini", "litellm_params": {"model": f"openai/{FALLBACK}", **params}},
        ],
        fallbacks=[{"codestral": ["mini"]}],
        num_retries=2,
        cache_responses=True,
    )


def messages(prompt: str) -> list[dict[str, str]]:
    system = SYSTEM_PROMPTS[ModelRequest(prompt="x").task_type]
    return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]


async def main(n: int) -> None:
    from openai import AsyncOpenAI

    with server_process() as url:
        remote_config(
            url,
            fallback_chains={"codestral-2501": ["gpt-4o-mini"]},
            max_retries=2,
            rate_limits={"codestral-2501": {"per_minute": None, "per_day": None}},
        )
        ours = ModelOrchestrator()
        router = litellm_router(url)
        azure = ChatCompletionsClient(
            endpoint=url, credential=AzureKeyCredential(TOKEN), retry_total=0
        )
        openai = AsyncOpenAI(base_url=url, api_key=TOKEN, max_retries=0)

        async def bare_azure(prompt: str) -> None:
            await azure.complete(messages=messages(prompt), model=PRIMARY, temperature=0.1)

        async def bare_openai(prompt: str) -> None:
            await openai.chat.completions.create(
                messages=messages(prompt),
                model=PRIMARY,
                temperature=0.1,  # type: ignore[arg-type]
            )

        async def aurelis(prompt: str) -> None:
            await ours.process_request(
                ModelRequest(prompt=prompt, model_type=ModelType.CODESTRAL_2501)
            )

        lite_hits = [0]

        async def lite(prompt: str) -> None:
            response = await router.acompletion(
                model="codestral", messages=messages(prompt), temperature=0.1
            )
            lite_hits[0] += bool(getattr(response, "_hidden_params", {}).get("cache_hit"))

        calls = {
            "azure SDK": bare_azure,
            "openai SDK": bare_openai,
            "aurelis": aurelis,
            "litellm Router": lite,
        }
        for i in range(30):  # warm-up
            for call in calls.values():
                await call(f"warm-up {i}")
        gc.collect()
        samples: dict[str, list[float]] = {name: [] for name in calls}
        order = list(calls)
        shuffle = random.Random(7).shuffle
        for i in range(n):
            shuffle(order)  # no library always runs right after another's garbage
            for name in order:
                started = time.perf_counter()
                await calls[name](f"uncached question {i}")
                samples[name].append(time.perf_counter() - started)
        for name, values in samples.items():
            print(f"{name:15s} uncached n={n}: p50 {ms(p50(values))}  p95 {ms(p95(values))}")
        ours_overhead = p50(samples["aurelis"]) - p50(samples["azure SDK"])
        lite_overhead = p50(samples["litellm Router"]) - p50(samples["openai SDK"])
        print(
            f"overhead p50: aurelis {ms(ours_overhead)}, litellm {ms(lite_overhead)}, "
            f"ratio litellm/aurelis {lite_overhead / ours_overhead:.1f}x"
        )
        print(
            f"per request p50 ratio litellm/aurelis "
            f"{p50(samples['litellm Router']) / p50(samples['aurelis']):.2f}x"
        )

        big = prompt_of(4096)
        await aurelis(big)
        await lite(big)
        await asyncio.sleep(0.5)  # LiteLLM writes its cache in a background task
        hits: dict[str, list[float]] = {"aurelis": [], "litellm Router": []}
        lite_hits[0] = 0
        for _ in range(n):
            for name in hits:
                started = time.perf_counter()
                await calls[name](big)
                hits[name].append(time.perf_counter() - started)
        assert lite_hits[0] == n, f"only {lite_hits[0]} of {n} LiteLLM requests were hits"
        for name, values in hits.items():
            print(f"{name:15s} cache hit 4 KB n={n}: p50 {us(p50(values))}  p95 {us(p95(values))}")
        print(
            f"cache hit p50 ratio litellm/aurelis "
            f"{p50(hits['litellm Router']) / p50(hits['aurelis']):.0f}x"
        )
        await azure.close()
        await openai.close()
        await ours.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    asyncio.run(main(parser.parse_args().n))
