"""get_stats(), health(), cache_stats() and clear_cache()."""

from __future__ import annotations

import pytest

from aurelis.core.config import AurelisConfig, get_config
from aurelis.core.exceptions import ModelError
from aurelis.models import ModelRequest, ModelType
from aurelis.models.orchestrator import get_model_orchestrator
from aurelis.models.stats import percentile
from aurelis.testing import Reply

MINI = "openai/gpt-4o-mini"
NEMO = "mistral-ai/Mistral-Nemo"
STAT_KEYS = {
    "requests",
    "failures",
    "cache_hits",
    "tokens",
    "latency_p50_ms",
    "latency_p95_ms",
    "breaker",
    "rate_limit_remaining",
}


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    remote_config.update(
        {
            "max_retries": 0,
            "breaker_failure_threshold": 2,
            "fallback_chains": {"gpt-4o-mini": ["mistral-nemo"]},
        }
    )
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


def test_percentile_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 50 and percentile(samples, 0.95) == 95
    assert percentile([3.0], 0.95) == 3.0 and percentile([], 0.5) is None


def test_every_model_is_reported_before_any_request() -> None:
    stats = get_model_orchestrator().get_stats()
    assert set(stats) == {model.value for model in ModelType}
    for entry in stats.values():
        assert STAT_KEYS <= set(entry)
        assert entry["requests"] == 0 and entry["breaker"] == "closed"
        assert entry["latency_p50_ms"] is None
    assert stats["gpt-4o"]["rate_limit_remaining"] == 10  # high tier
    assert stats["local"]["rate_limit_remaining"] is None  # no window, only concurrency


async def test_stats_count_requests_failures_hits_tokens_and_latency(
    orchestrator, model_server
) -> None:
    model_server.script(MINI, Reply(status=503, latency=0.05))
    model_server.set_default(NEMO, Reply(latency=0.02, prompt_tokens=10, completion_tokens=5))
    model_server.set_default(MINI, Reply(latency=0.02, prompt_tokens=7, completion_tokens=3))
    await orchestrator.process_request(ModelRequest(prompt="a"))  # mini fails, nemo answers
    await orchestrator.process_request(ModelRequest(prompt="b"))  # mini answers
    await orchestrator.process_request(ModelRequest(prompt="b"))  # cache hit for mini
    stats = orchestrator.get_stats()
    mini, nemo = stats["gpt-4o-mini"], stats["mistral-nemo"]
    assert (mini["requests"], mini["failures"], mini["cache_hits"], mini["tokens"]) == (2, 1, 1, 10)
    assert (nemo["requests"], nemo["failures"], nemo["tokens"]) == (1, 0, 15)
    assert 20 <= mini["latency_p50_ms"] <= mini["latency_p95_ms"]
    assert mini["rate_limit_remaining"] == 13 and nemo["rate_limit_remaining"] == 14


async def test_health_reports_an_open_breaker_and_the_last_error_redacted(
    orchestrator, model_server
) -> None:
    token = get_config().token.get_secret_value()
    model_server.set_default(
        MINI, Reply(status=500, error_message=f"upstream said: invalid key {token}")
    )
    for prompt in ("a", "b"):
        await orchestrator.process_request(ModelRequest(prompt=prompt))
    health = orchestrator.health()
    mini = health["gpt-4o-mini"]
    assert mini["healthy"] is False and mini["breaker"] == "open" and mini["retry_in"] > 0
    assert "500" in mini["last_error"] and token not in mini["last_error"]
    assert health["mistral-nemo"] == {
        "healthy": True,
        "enabled": True,
        "breaker": "closed",
        "retry_in": 0.0,
        "rate_limit_remaining": 13,
        "last_error": None,
    }


def test_offline_only_the_local_model_is_healthy() -> None:
    get_config().provider = "local"
    health = get_model_orchestrator().health()
    assert health["local"]["healthy"] is True
    assert not any(entry["healthy"] for name, entry in health.items() if name != "local")


async def test_cache_stats_and_clear(orchestrator, model_server) -> None:
    for prompt in ("a", "b", "a"):
        await orchestrator.process_request(ModelRequest(prompt=prompt))
    stats = orchestrator.cache_stats()
    assert (stats["size"], stats["hits"], stats["misses"]) == (2, 1, 2)
    assert stats["persistent"] is None
    assert orchestrator.clear_cache() == 2
    assert orchestrator.cache_stats()["size"] == 0
    assert (await orchestrator.process_request(ModelRequest(prompt="a"))).cached is False


async def test_cache_stats_name_the_persistent_file(orchestrator, remote_config) -> None:
    remote_config.persistent_cache = True
    await orchestrator.process_request(ModelRequest(prompt="a"))
    stats = orchestrator.cache_stats()
    assert stats["persistent"].endswith("responses.sqlite3")
    assert stats["persistent_entries"] == 1
    assert orchestrator.clear_cache() == 1
    assert orchestrator.cache_stats()["persistent_entries"] == 0


async def test_a_failed_request_is_counted_once_per_call(orchestrator, model_server) -> None:
    model_server.set_default("*", Reply(status=503))
    with pytest.raises(ModelError):
        await orchestrator.process_request(ModelRequest(prompt="a"))
    stats = orchestrator.get_stats()
    assert stats["gpt-4o-mini"]["failures"] == 1 and stats["mistral-nemo"]["failures"] == 1


async def test_clear_empties_the_disk_file_even_with_persistence_off(
    orchestrator, remote_config
) -> None:
    remote_config.persistent_cache = True
    await orchestrator.process_request(ModelRequest(prompt="a"))
    remote_config.persistent_cache = False
    assert orchestrator.clear_cache() == 1
    remote_config.persistent_cache = True
    assert orchestrator.cache_stats()["persistent_entries"] == 0
