"""Several real Aurelis processes, one Redis, one loopback model server that enforces its
rate limit: what a team shares, end to end through `process_request` and the real client."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import TEST_TOKEN
from tests.team.processes import run_workers
from tests.team.redis_process import RedisProcess

from aurelis.testing import ModelServer, Reply

GPT_4O = "openai/gpt-4o"
MINI = "openai/gpt-4o-mini"
#: A "minute" of 3 s on both sides, so a test sees windows turn over.
SCALE = 0.05


@pytest.fixture
def server() -> Iterator[ModelServer]:
    """The model server on its own thread: the workers are other processes."""
    model_server = ModelServer(token=TEST_TOKEN)
    model_server.rate_window_scale = SCALE
    model_server.start_in_thread()
    yield model_server
    model_server.stop_thread()


def team_env(server: ModelServer, redis_url: str, tmp_path: Path, **settings: Any) -> dict:
    env = {
        "AURELIS_PROVIDER": "azure",
        "AURELIS_ENDPOINT": server.url,
        "AURELIS_TOKEN": TEST_TOKEN,
        "AURELIS_LOCAL_FALLBACK": "false",
        "AURELIS_REDIS_URL": redis_url,
        "AURELIS_RATE_LIMIT_WINDOW_SCALE": str(SCALE),
        "AURELIS_CONFIG_FILE": str(tmp_path / "no-config.toml"),
        "AURELIS_PROJECT_ROOT": str(tmp_path),
        "AURELIS_CACHE_DIR": str(tmp_path / "cache"),
    }
    for name, value in settings.items():
        text = value if isinstance(value, str) else json.dumps(value)
        env[f"AURELIS_{name.upper()}"] = text
    return env


def asks(*prompts: str, model: str = "gpt-4o-mini", concurrency: int | None = None) -> dict:
    spec: dict[str, Any] = {"requests": [{"prompt": p, "model_type": model} for p in prompts]}
    if concurrency is not None:
        spec["concurrency"] = concurrency
    return spec


def results(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [result for report in reports for result in report["results"]]


async def test_processes_sharing_redis_together_never_draw_a_429(
    server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    server.enforce_rate_limit("*", per_minute=6)
    server.set_default("*", Reply(latency=0.02))
    env = team_env(
        server,
        redis_url,
        tmp_path,
        cache_enabled="false",
        rate_limits={"gpt-4o-mini": {"per_minute": 6, "per_day": None, "concurrent": None}},
    )
    specs = [asks(*(f"process {p} request {i}" for i in range(4))) for p in range(3)]
    done = results(await run_workers(specs, env))
    assert all(result["ok"] for result in done), [r for r in done if not r["ok"]]
    assert len(server.requests) == 12  # every arrival was admitted: zero 429s


async def test_an_answer_paid_for_by_one_process_is_a_cache_hit_in_another(
    server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    env = team_env(server, redis_url, tmp_path)
    first = results(await run_workers([asks("explain decorators")], env))
    second = results(await run_workers([asks("explain decorators")], env))
    assert first[0]["ok"] and not first[0]["cached"]
    assert second[0]["ok"] and second[0]["cached"]
    assert second[0]["content"] == first[0]["content"]
    assert len(server.requests) == 1


async def test_identical_requests_from_several_processes_make_one_upstream_call(
    server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    server.set_default("*", Reply(latency=1.0))
    env = team_env(server, redis_url, tmp_path)
    done = results(await run_workers([asks("the same question")] * 3, env))
    assert all(result["ok"] for result in done)
    assert len({result["content"] for result in done}) == 1
    assert len(server.requests) == 1
    assert sum(1 for result in done if result["shared"] or result["cached"]) == 2


async def test_a_breaker_opened_by_one_process_keeps_another_from_calling(
    server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    server.set_default(GPT_4O, Reply(status=503))
    env = team_env(
        server,
        redis_url,
        tmp_path,
        breaker_failure_threshold=2,
        breaker_cooldown=60,
        max_retries=0,
        deadline=5,
        cache_enabled="false",
        fallback_chains={"gpt-4o": []},
    )
    opened = results(await run_workers([asks("q1", "q2", model="gpt-4o", concurrency=1)], env))
    assert not any(result["ok"] for result in opened)
    calls = len(server.requests)
    later = results(await run_workers([asks("q3", model="gpt-4o")], env))
    assert not later[0]["ok"]
    assert "circuit open" in later[0]["message"]
    assert len(server.requests) == calls  # skipped without a call


async def test_an_exhausted_budget_moves_requests_down_the_chain_in_every_process(
    server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    server.set_default("*", Reply(prompt_tokens=60, completion_tokens=40))
    env = team_env(
        server,
        redis_url,
        tmp_path,
        budgets={"gpt-4o": 150},
        cache_enabled="false",
        fallback_chains={"gpt-4o": ["gpt-4o-mini"]},
    )
    spent = results(await run_workers([asks("q1", "q2", model="gpt-4o", concurrency=1)], env))
    assert [result["model"] for result in spent] == ["gpt-4o", "gpt-4o"]
    later = results(await run_workers([asks("q3", model="gpt-4o")], env))
    assert later[0]["ok"] and later[0]["model"] == "gpt-4o-mini"
    assert "budget" in later[0]["fallback_from"][0]["error"]


async def test_with_no_chain_left_an_exhausted_budget_says_when_it_resets(
    server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    server.set_default("*", Reply(prompt_tokens=60, completion_tokens=40))
    env = team_env(
        server,
        redis_url,
        tmp_path,
        budgets={"total": 100},
        cache_enabled="false",
        fallback_chains={"gpt-4o": []},
    )
    await run_workers([asks("q1", model="gpt-4o")], env)
    later = results(await run_workers([asks("q2", model="gpt-4o")], env))
    assert not later[0]["ok"]
    assert "resets at 00:00 UTC" in later[0]["message"]
    assert len(server.requests) == 1


async def test_redis_killed_mid_run_and_restarted_fails_no_request(
    server: ModelServer, tmp_path: Path
) -> None:
    redis = RedisProcess(tmp_path).start()
    try:
        server.set_default("*", Reply(latency=0.1))
        env = team_env(server, redis.url, tmp_path, cache_enabled="false")
        specs = [asks(*(f"p{p} r{i}" for i in range(15)), concurrency=1) for p in range(2)]
        run = asyncio.ensure_future(run_workers(specs, env))
        await _until(lambda: len(server.requests) >= 6)  # the workers are under way
        redis.stop()
        await asyncio.sleep(0.5)
        redis.start()
        done = results(await run)
        assert len(done) == 30
        assert all(result["ok"] for result in done), [r for r in done if not r["ok"]]
        # Shared again after the restart: one process's answer is the other's cache hit.
        shared_env = team_env(server, redis.url, tmp_path)
        await run_workers([asks("after the restart")], shared_env)
        again = results(await run_workers([asks("after the restart")], shared_env))
        assert again[0]["cached"]
    finally:
        redis.stop()


async def _until(condition: Callable[[], bool], within: float = 60) -> None:
    async with asyncio.timeout(within):
        for delay in itertools.repeat(0.02):
            if condition():
                return
            await asyncio.sleep(delay)
