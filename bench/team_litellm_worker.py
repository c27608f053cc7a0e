"""LiteLLM Router + Redis as one team member's process, for bench/team_ratelimit.py.

Runs under a Python that has LiteLLM (`pip install litellm fastapi orjson redis`), not the
project venv. Same protocol as tests/team/worker.py: READY, a line on stdin, one JSON
report. Argument: a JSON spec {url, token, model, rpm, redis_port, strategy, count}.
strategy "strict": simple-shuffle + enforce_model_rate_limits (LiteLLM's strictest);
"usage-v2": usage-based-routing-v2. Both with Redis and LiteLLM's default 2 retries.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download at import

from litellm import Router


def router(spec: dict[str, Any]) -> Router:
    deployment = {
        "model_name": spec["model"],
        "litellm_params": {
            "model": f"openai/{spec['model']}",
            "api_base": spec["url"],
            "api_key": spec["token"],
            "rpm": spec["rpm"],
        },
    }
    options: dict[str, Any] = {
        "redis_host": "127.0.0.1",
        "redis_port": spec["redis_port"],
        "num_retries": 2,
    }
    if spec["strategy"] == "strict":
        options["optional_pre_call_checks"] = ["enforce_model_rate_limits"]
    else:
        options["routing_strategy"] = "usage-based-routing-v2"
    return Router(model_list=[deployment], **options)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    lite = router(spec)
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    started = time.perf_counter()

    async def one(i: int) -> dict[str, Any]:
        begun = time.perf_counter()
        try:
            await lite.acompletion(
                model=spec["model"],
                messages=[{"role": "user", "content": f"{spec['name']} request {i}"}],
            )
        except Exception as error:  # noqa: BLE001 - reported, that is the point
            return {"ok": False, "error": type(error).__name__, "ms": _ms(begun)}
        return {"ok": True, "ms": _ms(begun)}

    results = await asyncio.gather(*(one(i) for i in range(spec["count"])))
    return {"results": results, "elapsed": time.perf_counter() - started}


def _ms(begun: float) -> float:
    return (time.perf_counter() - begun) * 1000


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))), flush=True)
