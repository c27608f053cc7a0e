"""The team-scale parts of the command line: `aurelis doctor` checks Redis without ever
printing its password; `aurelis usage` shows the day's token use."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.team.redis_process import RedisProcess, free_port
from typer.testing import CliRunner, Result

from aurelis.cli.main import app
from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import TransientModelError
from aurelis.models.breaker import BreakerRegistry
from aurelis.models.routing import resolve
from aurelis.models.shared.breaker import BreakerTarget, SharedBreakers
from aurelis.models.shared.budgets import TokenBudgets
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.state import keyspace_of
from aurelis.models.types import ModelType

PASSWORD = "team-redis-Passw0rd"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), prog_name="aurelis")


def shared_state_check(result: Result) -> dict:
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    return checks["shared state"]


def test_doctor_reports_a_working_redis(isolated_config: AurelisConfig, redis_url: str) -> None:
    isolated_config.redis_url = redis_url  # type: ignore[assignment]
    check = shared_state_check(invoke("doctor", "--json"))
    assert check["status"] == "ok"
    assert "Redis 7." in check["detail"] and "state is shared" in check["detail"]


def test_doctor_warns_about_an_unreachable_redis_without_its_password(
    isolated_config: AurelisConfig,
) -> None:
    isolated_config.redis_url = f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0"  # type: ignore[assignment]
    result = invoke("doctor", "--json")
    check = shared_state_check(result)
    assert check["status"] == "warn"
    assert "redis://***@127.0.0.1" in check["detail"]
    assert PASSWORD not in result.stdout + (result.stderr or "")


def test_doctor_rejects_a_wrong_redis_password_without_showing_it(
    isolated_config: AurelisConfig, tmp_path: Path
) -> None:
    protected = RedisProcess(tmp_path, password="the-right-one").start()
    try:
        isolated_config.redis_url = f"redis://:{PASSWORD}@127.0.0.1:{protected.port}/0"  # type: ignore[assignment]
        result = invoke("doctor", "--json")
        check = shared_state_check(result)
        assert check["status"] == "warn"
        assert PASSWORD not in result.stdout
    finally:
        protected.stop()


def test_doctor_says_state_is_per_process_without_redis(isolated_config: AurelisConfig) -> None:
    check = shared_state_check(invoke("doctor", "--json"))
    assert check["status"] == "info"
    assert "per process" in check["detail"]


async def test_usage_shows_the_teams_tokens_today_against_the_budgets(
    isolated_config: AurelisConfig, redis_url: str
) -> None:
    isolated_config.update(
        {
            "endpoint": "http://127.0.0.1:9/v1",
            "token": "team-token-0123456789",
            "redis_url": redis_url,
            "budgets": {"gpt-4o": 1000},
        }
    )
    link = SharedRedis(redis_url)
    await TokenBudgets(link).spend(keyspace_of(isolated_config), ModelType.GPT_4O, 1200)
    await TokenBudgets(link).spend(keyspace_of(isolated_config), ModelType.MISTRAL_NEMO, 30)
    await link.close()
    result = await asyncio.to_thread(invoke, "usage", "--json")
    report = json.loads(result.stdout)
    assert report["shared_through"] == redis_url
    rows = {row["name"]: row for row in report["budgets"]}
    assert rows["gpt-4o"] == {**rows["gpt-4o"], "used": 1200, "limit": 1000, "exhausted": True}
    assert rows["mistral-nemo"]["used"] == 30 and rows["mistral-nemo"]["limit"] is None
    assert rows["total"]["used"] == 1230
    assert "gpt-4o-mini" not in rows  # unused and without a budget


def test_usage_without_redis_says_the_counts_are_this_processs(
    isolated_config: AurelisConfig,
) -> None:
    result = invoke("usage")
    assert result.exit_code == 0, result.stdout
    assert "no redis_url" in result.stdout


async def test_models_shows_each_models_tokens_today_and_its_budget(
    isolated_config: AurelisConfig, redis_url: str
) -> None:
    isolated_config.update(
        {
            "endpoint": "http://127.0.0.1:9/v1",
            "token": "team-token-0123456789",
            "redis_url": redis_url,
            "budgets": {"gpt-4o": 1000},
        }
    )
    link = SharedRedis(redis_url)
    await TokenBudgets(link).spend(keyspace_of(isolated_config), ModelType.GPT_4O, 700)
    await link.close()
    result = await asyncio.to_thread(invoke, "models", "--json")
    rows = {row["model"]: row for row in json.loads(result.stdout)["models"]}
    assert (rows["gpt-4o"]["tokens_today"], rows["gpt-4o"]["budget"]) == (700, 1000)
    assert (rows["gpt-4o-mini"]["tokens_today"], rows["gpt-4o-mini"]["budget"]) == (0, None)
    assert "tokens_today" not in rows["local"]


async def test_models_shows_a_breaker_another_process_opened(
    isolated_config: AurelisConfig, redis_url: str
) -> None:
    isolated_config.update(
        {
            "endpoint": "http://127.0.0.1:9/v1",
            "token": "team-token-0123456789",
            "redis_url": redis_url,
            "breaker_failure_threshold": 1,
            "breaker_cooldown": 600,
        }
    )
    link = SharedRedis(redis_url)
    breakers = SharedBreakers(link, BreakerRegistry())
    deployment = resolve(ModelType.GPT_4O, isolated_config).deployment
    target = BreakerTarget(keyspace_of(isolated_config), ModelType.GPT_4O, deployment)
    await (await breakers.admit(target, isolated_config)).failed(TransientModelError("HTTP 503"))
    await link.close()
    result = await asyncio.to_thread(invoke, "models", "--json")
    rows = {row["model"]: row for row in json.loads(result.stdout)["models"]}
    assert rows["gpt-4o"]["breaker"] == "open" and rows["gpt-4o"]["healthy"] is False
    assert rows["gpt-4o-mini"]["breaker"] != "open"
