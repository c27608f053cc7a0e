"""Several Aurelis processes on one token against a server that enforces its rate limit.

    .venv/bin/python bench/team_ratelimit.py [--processes 4 8] [--limit 20] [--scale 0.1]
    .venv/bin/python bench/team_ratelimit.py --scale 1 --per-process 10 \\
        --litellm /path/to/python-with-litellm          # + LiteLLM Router + Redis

Each process (tests/team/worker.py, real `process_request` over the real client) sends
`--per-process` requests at once to GPT-4o-mini; the loopback model server admits
`--limit` requests per sliding "minute" (scaled by `--scale`: 0.1 makes it 6 s) and
answers the rest with 429 + Retry-After. Two setups, side by side:

- per-process: today's limiter, each process respecting the limit on its own;
- shared: the same processes with `redis_url` set (one redis-server on loopback).

Reported per run: 429s the server sent (goal 0), requests that failed (goal 0), the wall
time, and the throughput as a share of the limit: the ideal schedule lets `limit`
requests through at once and `limit` more per window, so N requests need
(N / limit - 1) windows at least; share = that ideal time / the measured time
(goal >= 90%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from tests.team.processes import run_workers  # noqa: E402
from tests.team.redis_process import RedisProcess  # noqa: E402

from aurelis.testing import ModelServer, Reply  # noqa: E402

TOKEN = "bench-token-0123456789"
MODEL = "gpt-4o-mini"
LATENCY = 0.02


def worker_env(server: ModelServer, limit: int, scale: float, redis_url: str | None) -> dict:
    env = {
        "AURELIS_PROVIDER": "azure",
        "AURELIS_ENDPOINT": server.url,
        "AURELIS_TOKEN": TOKEN,
        "AURELIS_LOCAL_FALLBACK": "false",
        "AURELIS_CACHE_ENABLED": "false",
        "AURELIS_DEADLINE": "600",
        # No fallback: another model has its own server window, which would hide 429s.
        "AURELIS_FALLBACK_CHAINS": json.dumps({MODEL: []}),
        "AURELIS_RATE_LIMIT_WINDOW_SCALE": str(scale),
        "AURELIS_RATE_LIMITS": json.dumps(
            {MODEL: {"per_minute": limit, "per_day": None, "concurrent": None}}
        ),
        "AURELIS_CONFIG_FILE": "/nonexistent/config.toml",
        "AURELIS_PROJECT_ROOT": tempfile.gettempdir(),
    }
    if redis_url is not None:
        env["AURELIS_REDIS_URL"] = redis_url
    return env


def spec(process: int, count: int) -> dict[str, Any]:
    requests = [
        {"prompt": f"process {process} request {i}", "model_type": MODEL} for i in range(count)
    ]
    return {"requests": requests, "concurrency": count}


async def run_once(
    processes: int, per_process: int, limit: int, scale: float, redis_url: str | None
) -> dict[str, Any]:
    server = ModelServer(token=TOKEN)
    server.rate_window_scale = scale
    server.enforce_rate_limit("*", per_minute=limit)
    server.set_default("*", Reply(latency=LATENCY))
    server.start_in_thread()
    try:
        env = worker_env(server, limit, scale, redis_url)
        reports = await run_workers(
            [spec(p, per_process) for p in range(processes)], env, within=1200
        )
        arrivals = len(server.requests)
    finally:
        server.stop_thread()
    setup = "Aurelis shared (Redis)" if redis_url else "Aurelis per-process"
    return _row(setup, processes, reports, arrivals, limit, 60 * scale)


async def run_litellm(
    python: str, strategy: str, processes: int, per_process: int, limit: int, redis_port: int
) -> dict[str, Any]:
    """The same load through LiteLLM's Router + Redis (its windows are real minutes)."""
    server = ModelServer(token=TOKEN)
    server.enforce_rate_limit("*", per_minute=limit)
    server.set_default("*", Reply(latency=LATENCY))
    server.start_in_thread()
    specs = [
        {
            "url": server.url,
            "token": TOKEN,
            "model": MODEL,
            "rpm": limit,
            "redis_port": redis_port,
            "strategy": strategy,
            "count": per_process,
            "name": f"process {p}",
        }
        for p in range(processes)
    ]
    try:
        worker = str(ROOT / "bench" / "team_litellm_worker.py")
        reports = await run_workers(specs, {}, within=1200, command=[python, worker])
        arrivals = len(server.requests)
    finally:
        server.stop_thread()
    return _row(f"LiteLLM {strategy} + Redis", processes, reports, arrivals, limit, 60.0)


def _row(
    setup: str,
    processes: int,
    reports: list[dict[str, Any]],
    arrivals: int,
    limit: int,
    window: float,
) -> dict[str, Any]:
    results = [r for report in reports for r in report["results"]]
    succeeded = sum(1 for r in results if r["ok"])
    total = len(results)
    elapsed = max(report["elapsed"] for report in reports)
    ideal = max(total / limit - 1, 0) * window
    return {
        "setup": setup,
        "processes": processes,
        "requests": total,
        "window_s": window,
        "429s": arrivals - succeeded,
        "failed": total - succeeded,
        "errors": sorted({r["error"] for r in results if not r["ok"]}),
        "elapsed_s": round(elapsed, 2),
        # Only meaningful when every request got through.
        "share_of_limit": round(ideal / elapsed, 3) if succeeded == total and elapsed else None,
    }


async def main(args: argparse.Namespace) -> None:
    redis = RedisProcess(Path(tempfile.mkdtemp(prefix="aurelis-bench-redis-"))).start()
    try:
        for processes in args.processes:
            for url in (None, redis.url):
                row = await run_once(processes, args.per_process, args.limit, args.scale, url)
                print(json.dumps(row), flush=True)
            for strategy in args.litellm_strategies if args.litellm else []:
                row = await run_litellm(
                    args.litellm, strategy, processes, args.per_process, args.limit, redis.port
                )
                print(json.dumps(row), flush=True)
    finally:
        redis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--per-process", type=int, default=15)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument(
        "--litellm",
        metavar="PYTHON",
        help="a Python with litellm installed: also run LiteLLM's Router + Redis "
        "(real 60 s windows; use --scale 1 for a like-for-like comparison)",
    )
    parser.add_argument("--litellm-strategies", nargs="+", default=["strict", "usage-v2"])
    asyncio.run(main(parser.parse_args()))
