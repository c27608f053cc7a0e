"""The deadline shared along the fallback chain: a hung model leaves the local one its turn."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aurelis.core.config import AurelisConfig
from aurelis.models import ModelOrchestrator, ModelRequest, ModelType, TaskType
from aurelis.models.chain_budget import reserve_after
from aurelis.models.providers.base import ProviderCall
from aurelis.testing import FakeProvider


def online(config: AurelisConfig, **extra: object) -> AurelisConfig:
    config.update(
        {
            "provider": "azure",
            "endpoint": "http://127.0.0.1:9/v1",
            "token": "t",
            "cache_enabled": False,
            "max_retries": 0,
            **extra,
        }
    )
    return config


async def hang_unless_local(call: ProviderCall) -> str:
    if call.model != "local":
        await asyncio.sleep(3600)  # a frozen endpoint: the socket open, no answer
    return "local answer"


def test_only_links_before_local_keep_a_reserve(isolated_config: AurelisConfig) -> None:
    config = online(isolated_config, local_reserve=7.0)
    chain = [ModelType.CODESTRAL_2501, ModelType.GPT_4O_MINI, ModelType.LOCAL]
    assert reserve_after(ModelType.CODESTRAL_2501, chain, config) == 7.0
    assert reserve_after(ModelType.GPT_4O_MINI, chain, config) == 7.0
    assert reserve_after(ModelType.LOCAL, chain, config) == 0.0
    assert reserve_after(ModelType.GPT_4O_MINI, chain[:2], config) == 0.0


async def test_a_hung_primary_still_gets_a_local_answer_before_the_deadline(
    isolated_config: AurelisConfig,
) -> None:
    online(
        isolated_config,
        deadline=2.0,
        local_reserve=1.0,
        request_timeout=60.0,
        fallback_chains={"codestral-2501": []},
    )
    fake = FakeProvider(hang_unless_local)
    orchestrator = ModelOrchestrator(providers=fake.factories())
    started = time.monotonic()
    response = await orchestrator.process_request(
        ModelRequest(prompt="x", task_type=TaskType.CODE_GENERATION)
    )
    elapsed = time.monotonic() - started
    await orchestrator.close()
    assert response.model_used is ModelType.LOCAL and response.content == "local answer"
    assert 0.9 < elapsed < 2.0
    assert response.metadata is not None
    [failed] = response.metadata["fallback_from"]
    assert failed["model"] == "codestral-2501" and "share" in failed["error"]


async def test_without_local_at_the_end_the_primary_gets_the_whole_deadline(
    isolated_config: AurelisConfig,
) -> None:
    online(
        isolated_config,
        deadline=1.0,
        local_reserve=0.8,
        local_fallback=False,
        fallback_chains={"codestral-2501": []},
    )
    fake = FakeProvider(hang_unless_local)
    orchestrator = ModelOrchestrator(providers=fake.factories())
    started = time.monotonic()
    try:
        await orchestrator.process_request(
            ModelRequest(prompt="x", task_type=TaskType.CODE_GENERATION)
        )
    except Exception as error:  # noqa: BLE001 - checked below
        failure = error
    await orchestrator.close()
    assert "deadline" in str(failure)
    assert time.monotonic() - started >= 0.95


async def test_a_slow_primary_starts_loading_the_local_model_in_the_background(
    isolated_config: AurelisConfig, tmp_path: Path
) -> None:
    # A GGUF that is not there: loading it fails at once, which shows that it was tried.
    online(
        isolated_config,
        deadline=3.0,
        local_reserve=1.0,
        local_warmup_after=0.2,
        local_model_path=str(tmp_path / "absent.gguf"),
        fallback_chains={"codestral-2501": []},
    )
    fake = FakeProvider(hang_unless_local)
    orchestrator = ModelOrchestrator(providers={"remote": fake.factory})
    local = orchestrator.providers.provider_for(ModelType.LOCAL, isolated_config)
    request = asyncio.ensure_future(
        orchestrator.process_request(ModelRequest(prompt="x", task_type=TaskType.CODE_GENERATION))
    )
    await asyncio.sleep(0.1)
    assert local.state == "not_loaded"  # type: ignore[attr-defined]
    await asyncio.sleep(0.6)
    assert not request.done()  # still waiting on the primary
    assert local.state == "failed"  # type: ignore[attr-defined]  # the load was tried
    request.cancel()
    await asyncio.gather(request, return_exceptions=True)
    await orchestrator.close()
