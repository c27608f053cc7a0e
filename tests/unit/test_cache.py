"""The response cache and single-flight, through the orchestrator and the loopback server."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path

import pytest

from aurelis.core.config import AurelisConfig, get_config
from aurelis.models import ModelRequest, ModelType, TaskType
from aurelis.models import cache as cache_module
from aurelis.models.cache import CacheEntry, ResponseCache, cache_path
from aurelis.models.orchestrator import ModelOrchestrator, get_model_orchestrator
from aurelis.models.persistent_cache import PersistentCache
from aurelis.testing import ModelServer, Reply

MINI = "openai/gpt-4o-mini"
CODESTRAL = "mistral-ai/Codestral-2501"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def orchestrator(remote_config: AurelisConfig):
    orchestrator = get_model_orchestrator()
    yield orchestrator
    await orchestrator.close()


def request(prompt: str = "explain closures", **fields) -> ModelRequest:
    return ModelRequest(prompt=prompt, **fields)


async def test_identical_request_is_answered_from_the_cache(orchestrator, model_server) -> None:
    first = await orchestrator.process_request(request())
    second = await orchestrator.process_request(request())
    assert first.cached is False and second.cached is True
    assert second.content == first.content
    assert len(model_server.requests) == 1


# Each variant differs from request() in one thing that changes the answer.
VARIANTS = {
    "prompt": lambda: request("explain closures!"),
    "system_prompt": lambda: request(system_prompt="Answer in French."),
    "task_type": lambda: request(task_type=TaskType.EXPLANATION, model_type="gpt-4o-mini"),
    "temperature": lambda: request(temperature=0.7),
    "max_tokens": lambda: request(max_tokens=100),
    "context": lambda: request(context={"existing_code": "def f(): pass"}),
    "model": lambda: request(model_type=ModelType.GPT_4O),
}


@pytest.mark.parametrize("field", sorted(VARIANTS))
async def test_each_request_field_changes_the_key(orchestrator, model_server, field) -> None:
    await orchestrator.process_request(request())
    variant = await orchestrator.process_request(VARIANTS[field]())
    assert variant.cached is False
    assert len(model_server.requests) == 2


def _deployment_override(config: AurelisConfig, server: ModelServer) -> None:
    config.deployments = {ModelType.GPT_4O_MINI: "my-mini-deployment"}


def _endpoint_change(config: AurelisConfig, server: ModelServer) -> None:
    # The same server under another name: a different endpoint may serve another model.
    config.endpoint = server.url.replace("127.0.0.1", "localhost")


def _context_window(config: AurelisConfig, server: ModelServer) -> None:
    config.context_windows = {ModelType.GPT_4O_MINI: 16_000}


@pytest.mark.parametrize(
    "change", [_deployment_override, _endpoint_change, _context_window], ids=lambda f: f.__name__
)
async def test_resolved_model_settings_change_the_key(
    orchestrator, model_server, remote_config, change
) -> None:
    await orchestrator.process_request(request())
    change(remote_config, model_server)
    again = await orchestrator.process_request(request())
    assert again.cached is False
    assert len(model_server.requests) == 2


async def test_template_version_changes_the_key(orchestrator, model_server, monkeypatch) -> None:
    await orchestrator.process_request(request())
    monkeypatch.setattr(cache_module, "TEMPLATE_VERSION", "next")
    assert (await orchestrator.process_request(request())).cached is False


async def test_output_limits_that_send_the_same_call_share_an_entry(
    orchestrator, model_server
) -> None:
    # max_tokens above the model's output limit is capped to it: the same call is sent.
    await orchestrator.process_request(request(max_tokens=4096))
    assert (await orchestrator.process_request(request(max_tokens=50_000))).cached is True


async def test_entries_expire_after_the_ttl(remote_config, model_server) -> None:
    clock = FakeClock()
    orchestrator = ModelOrchestrator(clock=clock)
    try:
        remote_config.cache_ttl = 60
        await orchestrator.process_request(request())
        clock.now += 59
        assert (await orchestrator.process_request(request())).cached is True
        clock.now += 2
        assert (await orchestrator.process_request(request())).cached is False
    finally:
        await orchestrator.close()
    assert len(model_server.requests) == 2


async def test_ttl_changed_after_start_up_applies_to_stored_entries(
    remote_config, model_server
) -> None:
    clock = FakeClock()
    orchestrator = ModelOrchestrator(clock=clock)
    try:
        await orchestrator.process_request(request())
        get_config().cache_ttl = 3600  # the seed's example, after start-up
        clock.now += 1801  # past the default 1800 s, within the new hour
        assert (await orchestrator.process_request(request())).cached is True
        get_config().cache_ttl = 60
        assert (await orchestrator.process_request(request())).cached is False
    finally:
        await orchestrator.close()


async def test_least_recently_used_entry_is_evicted_at_max_size(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.cache_max_size = 2
    for prompt in ("a?", "b?", "a?", "c?"):  # "a?" is used again before "c?" arrives
        await orchestrator.process_request(request(prompt))
    assert len(model_server.requests) == 3
    assert (await orchestrator.process_request(request("a?"))).cached is True
    assert (await orchestrator.process_request(request("b?"))).cached is False


async def test_cache_disabled_metadata_skips_read_and_write(orchestrator, model_server) -> None:
    opted_out = request(metadata={"cache_disabled": True})
    await orchestrator.process_request(opted_out)  # not written...
    assert (await orchestrator.process_request(request())).cached is False
    assert (await orchestrator.process_request(opted_out)).cached is False  # ...nor read
    assert len(model_server.requests) == 3


async def test_cache_switched_off_and_on_at_run_time(
    orchestrator, model_server, remote_config
) -> None:
    await orchestrator.process_request(request())
    remote_config.cache_enabled = False
    assert (await orchestrator.process_request(request())).cached is False
    remote_config.cache_enabled = True
    assert (await orchestrator.process_request(request())).cached is True


async def test_shrinking_max_size_at_run_time_keeps_the_newest(
    orchestrator, model_server, remote_config
) -> None:
    for prompt in ("a?", "b?", "c?"):
        await orchestrator.process_request(request(prompt))
    remote_config.cache_max_size = 1
    assert orchestrator.cache_stats()["size"] == 1
    assert (await orchestrator.process_request(request("c?"))).cached is True
    assert (await orchestrator.process_request(request("a?"))).cached is False


async def test_hit_keeps_the_original_model_and_tokens(
    orchestrator, model_server, remote_config
) -> None:
    remote_config.update({"max_retries": 0, "fallback_chains": {"codestral-2501": ["gpt-4o-mini"]}})
    model_server.script(CODESTRAL, Reply(status=503))
    codestral = request(model_type=ModelType.CODESTRAL_2501)
    first = await orchestrator.process_request(codestral)
    second = await orchestrator.process_request(codestral)
    assert first.model_used is ModelType.GPT_4O_MINI
    assert second.cached is True
    assert (second.model_used, second.tokens_used) == (first.model_used, first.tokens_used)
    assert "cache_key" not in second.metadata


async def test_truncated_answers_are_not_cached(orchestrator, model_server) -> None:
    model_server.script(MINI, Reply(finish_reason="length"))
    first = await orchestrator.process_request(request())
    assert first.metadata["finish_reason"] == "length"
    assert (await orchestrator.process_request(request())).cached is False


async def test_errors_are_not_cached(orchestrator, model_server, remote_config) -> None:
    remote_config.update({"max_retries": 0, "fallback_chains": {"gpt-4o-mini": []}})
    model_server.script(MINI, Reply(status=503))
    with pytest.raises(Exception):  # noqa: B017 - what fails is not the point here
        await orchestrator.process_request(request())
    answer = await orchestrator.process_request(request())
    assert answer.cached is False and answer.content.startswith("[openai/gpt-4o-mini]")


async def test_request_metadata_is_not_shared_through_the_cache(orchestrator) -> None:
    await orchestrator.process_request(request(metadata={"user_id": "alice"}))
    hit = await orchestrator.process_request(request(metadata={"session_id": "s2"}))
    assert hit.cached is True
    assert hit.metadata["session_id"] == "s2" and "user_id" not in hit.metadata


# --- single-flight ---------------------------------------------------------------------------
async def test_concurrent_identical_requests_make_one_upstream_call(
    orchestrator, model_server
) -> None:
    model_server.set_default(MINI, Reply(latency=0.3))
    responses = await asyncio.gather(*(orchestrator.process_request(request()) for _ in range(10)))
    assert len(model_server.requests) == 1
    assert len({r.content for r in responses}) == 1
    assert sum(bool(r.metadata.get("shared")) for r in responses) == 9


async def test_a_cancelled_caller_does_not_cancel_the_shared_call(
    orchestrator, model_server
) -> None:
    model_server.set_default(MINI, Reply(latency=0.3))
    quitter = asyncio.create_task(orchestrator.process_request(request()))
    stayer = asyncio.create_task(orchestrator.process_request(request()))
    await asyncio.sleep(0.1)
    quitter.cancel()
    response = await stayer
    assert quitter.cancelled()
    assert response.content.startswith("[openai/gpt-4o-mini]")
    assert len(model_server.requests) == 1


# --- persistent cache ------------------------------------------------------------------------
async def test_persistent_cache_survives_a_restart(remote_config, model_server) -> None:
    remote_config.persistent_cache = True
    first = ModelOrchestrator()
    answer = await first.process_request(request())
    await first.close()

    second = ModelOrchestrator()  # a new process would start with an empty memory cache
    try:
        again = await second.process_request(request())
    finally:
        await second.close()
    assert again.cached is True and again.content == answer.content
    assert len(model_server.requests) == 1
    path = cache_path(remote_config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_corrupt_persistent_file_is_moved_aside_and_recreated(
    remote_config, model_server, caplog
) -> None:
    remote_config.persistent_cache = True
    path = cache_path(remote_config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a sqlite database" * 100)
    orchestrator = ModelOrchestrator()
    with caplog.at_level(logging.WARNING, logger="aurelis.models.cache"):
        answer = await orchestrator.process_request(request())
    await orchestrator.close()
    assert answer.content.startswith("[openai/gpt-4o-mini]")
    assert "moved it to" in caplog.text
    aside = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")

    restarted = ModelOrchestrator()
    try:
        assert (await restarted.process_request(request())).cached is True
    finally:
        await restarted.close()


async def test_no_secret_reaches_the_persistent_cache(remote_config, model_server) -> None:
    remote_config.persistent_cache = True
    secret = "ghp_" + "a1B2c3D4e5" * 4
    orchestrator = ModelOrchestrator()
    try:
        answer = await orchestrator.process_request(request(f"why does {secret} fail?"))
    finally:
        await orchestrator.close()
    assert secret not in answer.content
    stored = b"".join(
        p.read_bytes() for p in cache_path(remote_config).parent.iterdir() if p.is_file()
    )
    assert secret.encode() not in stored and b"REDACTED" in stored


def test_persistent_cache_stays_within_its_size_bound(tmp_path: Path) -> None:
    store = PersistentCache(tmp_path / "cache.sqlite3")
    value = "x" * 300_000
    for index in range(8):
        store.put(f"k{index}", value, stored_at=float(index), max_mb=1)
    assert store.size_bytes() <= 1024 * 1024
    assert store.count() == 3
    assert store.get("k7", min_stored_at=0) == value  # the newest stay
    assert store.get("k0", min_stored_at=0) is None  # the least recently used went first
    store.close()


def test_persistent_entries_older_than_the_ttl_are_misses(tmp_path: Path) -> None:
    wall = FakeClock()
    cache = ResponseCache(wall=wall)
    config = AurelisConfig(persistent_cache=True, cache_dir=tmp_path, cache_ttl=100)
    entry = CacheEntry("answer", ModelType.LOCAL, 3, {}, stored_at=wall.now)
    cache.put("key", entry, config)
    cache.close()

    reopened = ResponseCache(wall=wall)  # empty memory: the disk answers
    wall.now += 99
    assert reopened.get("key", config) == entry
    reopened.close()
    later = ResponseCache(wall=wall)
    wall.now += 2
    assert later.get("key", config) is None
    later.close()


def test_unwritable_cache_dir_disables_the_disk_layer_without_failing(
    tmp_path: Path, caplog
) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file-not-dir"
        blocker.write_text("x")  # root ignores permissions; a file in the way still blocks
        cache_dir = blocker / "sub"
    else:
        cache_dir = tmp_path / "ro"
        cache_dir.mkdir(mode=0o500)
    config = AurelisConfig(persistent_cache=True, cache_dir=cache_dir)
    cache = ResponseCache()
    with caplog.at_level(logging.WARNING, logger="aurelis.models.cache"):
        cache.put("key", CacheEntry("a", ModelType.LOCAL, 1, {}, stored_at=0.0), config)
    assert cache.get("key", config) is not None  # memory still works
    assert cache.stats(config)["persistent_entries"] == 0
    assert "persistent cache disabled" in caplog.text
