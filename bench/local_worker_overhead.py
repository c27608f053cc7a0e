"""What the embedded model's worker process costs per request, against llama.cpp in-process.

    PYTHONPATH=server .venv/bin/python bench/local_worker_overhead.py [--n 60] [--tokens 8]

Two copies of the bundled GGUF: one behind `LocalProvider` (its worker process: a JSON line
down a pipe, pieces streamed back, the reader thread handing them to the loop), one loaded
in this process and driven with the very generation loop the worker runs
(`local_worker._pieces`). Requests alternate between them, each typed one character
further than the last (so both reuse the KV-cache prefix the way an editor's requests
do), greedy, the same number of tokens. Reported: per-request wall time p50/p99 of each,
and of the paired difference (worker minus in-process); the same for a token count (the
prompt windows count text on every keystroke).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from aurelis.models.prompts import build_completion_prompt
from aurelis.models.providers.base import ProviderCall
from aurelis.models.providers.local import LocalProvider, default_model_path, direct_call
from aurelis.models.providers.local_worker import _pieces

CODE = "\n".join(f"def f{i}(x):\n    return x * {i} + {i % 7}\n" for i in range(20))


def call(prompt: str, tokens: int) -> ProviderCall:
    return direct_call(prompt, tokens, prompt_budget=1500)


def in_process(llama: Any, job: ProviderCall) -> int:
    built = build_completion_prompt(job.request, job.prompt_budget)
    fields = {
        "prompt": built.text,
        "stops": built.stops,
        "max_tokens": job.max_tokens,
        "temperature": 0.0,
    }
    return sum(1 for text, _ in _pieces(llama, fields) if text)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name: str, values: list[float], unit: str = "ms") -> None:
    scale = 1000 if unit == "ms" else 1_000_000
    print(
        f"{name:<44} p50 {statistics.median(values) * scale:8.2f} {unit}   "
        f"p99 {percentile(values, 0.99) * scale:8.2f} {unit}"
    )


async def main(n: int, tokens: int, threads: int) -> None:
    from llama_cpp import Llama

    provider = LocalProvider(None, context_size=2048, threads=threads)
    assert await provider.preload() == "ready", provider.load_error
    llama = Llama(
        str(default_model_path()), n_ctx=2048, n_threads=threads, swa_full=True, verbose=False
    )
    worker_times, local_times, diffs = [], [], []
    for i in range(n + 2):
        job = call(CODE + "\ndef total(values):\n    " + "r" * (i % 40 + 1), tokens)
        started = time.perf_counter()
        await provider.complete(job)
        worker = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.to_thread(in_process, llama, job)
        local = time.perf_counter() - started
        if i >= 2:  # the first two warm both up
            worker_times.append(worker)
            local_times.append(local)
            diffs.append(worker - local)
    count_worker, count_local = [], []
    for i in range(n * 5):
        text = CODE[: 200 + i]
        started = time.perf_counter()
        provider._counts.clear()  # measure the round trip, not the memo
        provider.count_tokens(text)
        count_worker.append(time.perf_counter() - started)
        started = time.perf_counter()
        llama.tokenize(text.encode(), add_bos=False, special=False)
        count_local.append(time.perf_counter() - started)
    print(f"{n} requests of {tokens} tokens each, alternating; {n * 5} token counts")
    report("generation, worker process", worker_times)
    report("generation, in-process", local_times)
    report("added by the worker (paired difference)", diffs)
    report("token count, worker process (round trip)", count_worker, "µs")
    report("token count, in-process", count_local, "µs")
    await provider.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.tokens, args.threads))
