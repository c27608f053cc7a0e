"""Daily token budgets shared by a team: spent in one process, exhausted in all; the local
model never counts; a clear error says when the budget resets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from tests.team.redis_process import free_port

from aurelis.models.shared.budgets import TOTAL, BudgetExhaustedError, TokenBudgets
from aurelis.models.shared.connection import SharedRedis
from aurelis.models.shared.keys import keyspace_for
from aurelis.models.types import ModelType

KEYSPACE = keyspace_for("http://127.0.0.1:9/v1", "team-token-0123456789")


@pytest.fixture
async def budgets(redis_url: str) -> AsyncIterator[tuple[TokenBudgets, TokenBudgets]]:
    links = SharedRedis(redis_url), SharedRedis(redis_url)
    yield TokenBudgets(links[0]), TokenBudgets(links[1])
    for link in links:
        await link.close()


async def test_tokens_spent_in_one_process_exhaust_the_budget_in_another(
    budgets: tuple[TokenBudgets, TokenBudgets],
) -> None:
    first, second = budgets
    limits = {"gpt-4o": 1000}
    await second.check(KEYSPACE, ModelType.GPT_4O, limits)
    await first.spend(KEYSPACE, ModelType.GPT_4O, 1000)
    with pytest.raises(BudgetExhaustedError) as caught:
        await second.check(KEYSPACE, ModelType.GPT_4O, limits)
    message = str(caught.value)
    assert "gpt-4o" in message and "1,000 of 1,000" in message
    assert re.search(r"resets at 00:00 UTC, in (\d+h \d\dm|\d+ min)", message)
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 86_400


async def test_the_total_budget_counts_every_remote_model(
    budgets: tuple[TokenBudgets, TokenBudgets],
) -> None:
    first, second = budgets
    await first.spend(KEYSPACE, ModelType.GPT_4O, 600)
    await first.spend(KEYSPACE, ModelType.MISTRAL_NEMO, 600)
    with pytest.raises(BudgetExhaustedError, match="all remote models"):
        await second.check(KEYSPACE, ModelType.CODESTRAL_2501, {TOTAL: 1000})


async def test_the_local_model_is_never_counted_or_refused(
    budgets: tuple[TokenBudgets, TokenBudgets],
) -> None:
    first, second = budgets
    await first.spend(KEYSPACE, ModelType.LOCAL, 10_000)
    usage = await second.usage(KEYSPACE, [TOTAL], {TOTAL: 100})
    assert usage[0].used == 0
    await first.spend(KEYSPACE, ModelType.GPT_4O, 500)
    await second.check(KEYSPACE, ModelType.LOCAL, {TOTAL: 100, "local": 1})


async def test_a_model_under_its_budget_passes_while_another_is_exhausted(
    budgets: tuple[TokenBudgets, TokenBudgets],
) -> None:
    first, second = budgets
    await first.spend(KEYSPACE, ModelType.GPT_4O, 5000)
    await second.check(KEYSPACE, ModelType.GPT_4O_MINI, {"gpt-4o": 1000, "gpt-4o-mini": 1000})


async def test_usage_reports_todays_tokens_and_limits(
    budgets: tuple[TokenBudgets, TokenBudgets],
) -> None:
    first, second = budgets
    await first.spend(KEYSPACE, ModelType.GPT_4O, 250)
    await first.spend(KEYSPACE, ModelType.GPT_4O, 250)
    rows = await second.usage(KEYSPACE, ["gpt-4o", "gpt-4o-mini", TOTAL], {"gpt-4o": 1000})
    assert [(r.name, r.used, r.limit, r.shared) for r in rows] == [
        ("gpt-4o", 500, 1000, True),
        ("gpt-4o-mini", 0, None, True),
        (TOTAL, 500, None, True),
    ]


async def test_another_token_has_its_own_budget(
    budgets: tuple[TokenBudgets, TokenBudgets],
) -> None:
    first, second = budgets
    await first.spend(KEYSPACE, ModelType.GPT_4O, 5000)
    other = keyspace_for("http://127.0.0.1:9/v1", "someone-elses-token-987")
    await second.check(other, ModelType.GPT_4O, {"gpt-4o": 1000})


async def test_without_redis_budgets_are_counted_in_process() -> None:
    budgets = TokenBudgets(SharedRedis(f"redis://127.0.0.1:{free_port()}/0"))
    await budgets.spend(KEYSPACE, ModelType.GPT_4O, 1000)
    with pytest.raises(BudgetExhaustedError):
        await budgets.check(KEYSPACE, ModelType.GPT_4O, {"gpt-4o": 1000})
    assert (await budgets.usage(KEYSPACE, ["gpt-4o"], {}))[0].shared is False


async def test_a_new_utc_day_starts_from_zero() -> None:
    clock = [86_400.0 * 20_000 + 100]
    budgets = TokenBudgets(None, wall=lambda: clock[0])
    await budgets.spend(KEYSPACE, ModelType.GPT_4O, 1000)
    clock[0] += 86_400
    await budgets.check(KEYSPACE, ModelType.GPT_4O, {"gpt-4o": 1000})
