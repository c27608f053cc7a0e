"""Breakers shared through Redis: opened by one process, open for all; one probe after the
cooldown; a rejected credential never opens the team's breaker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.team.redis_process import free_port

from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import (
    AuthenticationError,
    ModelError,
    RateLimitError,
    TransientModelError,
)
from aurelis.models.breaker import BreakerRegistry, BreakerState, CircuitOpenError
from aurelis.models.shared.breaker import BreakerTarget, SharedBreakers
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import keyspace_for
from aurelis.models.types import ModelType

KEYSPACE = keyspace_for("http://127.0.0.1:9/v1", "team-token-0123456789")
TARGET = BreakerTarget(KEYSPACE, ModelType.GPT_4O, "gpt-4o")


@pytest.fixture
def config(isolated_config: AurelisConfig) -> AurelisConfig:
    isolated_config.update({"breaker_failure_threshold": 2, "breaker_cooldown": 0.3})
    return isolated_config


@pytest.fixture
async def breakers(redis_url: str) -> AsyncIterator[tuple[SharedBreakers, SharedBreakers]]:
    links = SharedRedis(redis_url), SharedRedis(redis_url)
    yield SharedBreakers(links[0], BreakerRegistry()), SharedBreakers(links[1], BreakerRegistry())
    for link in links:
        await link.close()


async def fail(breakers: SharedBreakers, config: AurelisConfig, error: Exception) -> None:
    ticket = await breakers.admit(TARGET, config)
    await ticket.failed(error)


async def test_a_breaker_opened_by_one_process_is_open_in_another(
    breakers: tuple[SharedBreakers, SharedBreakers], config: AurelisConfig
) -> None:
    first, second = breakers
    for _ in range(2):
        await fail(first, config, TransientModelError("HTTP 503", model="gpt-4o"))
    with pytest.raises(CircuitOpenError) as caught:
        await second.admit(TARGET, config)
    assert 0 < caught.value.retry_in <= 0.3
    assert (await second.status(TARGET, config))[0] is BreakerState.OPEN


async def test_after_the_cooldown_exactly_one_process_probes(
    breakers: tuple[SharedBreakers, SharedBreakers], config: AurelisConfig
) -> None:
    first, second = breakers
    for _ in range(2):
        await fail(first, config, TransientModelError("HTTP 503"))
    await asyncio.sleep(0.35)
    probe = await first.admit(TARGET, config)
    assert probe.probe
    with pytest.raises(CircuitOpenError):
        await second.admit(TARGET, config)
    await probe.succeeded()
    assert (await second.status(TARGET, config))[0] is BreakerState.CLOSED
    await (await second.admit(TARGET, config)).succeeded()


async def test_a_failed_probe_opens_the_breaker_again_for_everyone(
    breakers: tuple[SharedBreakers, SharedBreakers], config: AurelisConfig
) -> None:
    first, second = breakers
    for _ in range(2):
        await fail(first, config, TransientModelError("HTTP 503"))
    await asyncio.sleep(0.35)
    await fail(second, config, TransientModelError("still 503"))
    with pytest.raises(CircuitOpenError):
        await first.admit(TARGET, config)


async def test_a_probe_lease_of_a_process_that_vanished_expires(
    redis_url: str, config: AurelisConfig
) -> None:
    links = SharedRedis(redis_url), SharedRedis(redis_url)
    vanished = SharedBreakers(links[0], BreakerRegistry(), probe_seconds=0.2)
    other = SharedBreakers(links[1], BreakerRegistry(), probe_seconds=0.2)
    for _ in range(2):
        await fail(vanished, config, TransientModelError("HTTP 503"))
    await asyncio.sleep(0.35)
    assert (await vanished.admit(TARGET, config)).probe  # and never settles it
    await asyncio.sleep(0.25)
    assert (await other.admit(TARGET, config)).probe


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("HTTP 401: bad credentials", status_code=401),
        ModelError("HTTP 403: no access", status_code=403),
        RateLimitError("HTTP 429"),
    ],
)
async def test_credential_and_rate_limit_failures_never_open_the_teams_breaker(
    breakers: tuple[SharedBreakers, SharedBreakers], config: AurelisConfig, error: Exception
) -> None:
    first, second = breakers
    for _ in range(5):
        await fail(first, config, error)
    await (await second.admit(TARGET, config)).succeeded()


async def test_a_success_resets_the_run_of_failures(
    breakers: tuple[SharedBreakers, SharedBreakers], config: AurelisConfig
) -> None:
    first, second = breakers
    await fail(first, config, TransientModelError("HTTP 503"))
    await (await second.admit(TARGET, config)).succeeded()
    await fail(first, config, TransientModelError("HTTP 503"))
    assert (await second.status(TARGET, config))[0] is BreakerState.CLOSED


async def test_leaving_the_pass_with_an_error_records_that_error(
    breakers: tuple[SharedBreakers, SharedBreakers], config: AurelisConfig
) -> None:
    first, second = breakers
    for _ in range(2):
        with pytest.raises(TransientModelError):
            async with await first.admit(TARGET, config):
                raise TransientModelError("HTTP 502")
    with pytest.raises(CircuitOpenError):
        await second.admit(TARGET, config)


async def test_without_redis_the_in_process_breaker_decides(config: AurelisConfig) -> None:
    local = BreakerRegistry()
    breakers = SharedBreakers(SharedRedis(f"redis://127.0.0.1:{free_port()}/0"), local)
    for _ in range(2):
        await fail(breakers, config, TransientModelError("HTTP 503"))
    assert local.get(ModelType.GPT_4O, config).state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        await breakers.admit(TARGET, config)
