"""The team settings: `redis_url` (a credential, never shown) and `budgets`."""

from __future__ import annotations

import pytest

from aurelis.core.config import AurelisConfig, load_config
from aurelis.core.exceptions import ConfigurationError

PASSWORD = "team-redis-Passw0rd"


def test_redis_url_is_unset_by_default(isolated_config: AurelisConfig) -> None:
    assert isolated_config.redis_url is None
    assert isolated_config.budgets == {}


def test_redis_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURELIS_REDIS_URL", f"redis://:{PASSWORD}@cache.internal:6379/0")
    config = load_config()
    assert config.redis_url is not None
    assert config.redis_url.get_secret_value().endswith("@cache.internal:6379/0")
    assert PASSWORD not in repr(config)


def test_an_empty_redis_url_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURELIS_REDIS_URL", "")
    assert load_config().redis_url is None


def test_a_bad_redis_url_is_refused_without_showing_its_password(
    isolated_config: AurelisConfig,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        isolated_config.redis_url = f"http://:{PASSWORD}@cache.internal:6379/0"  # type: ignore[assignment]
    message = str(caught.value)
    assert "redis_url" in message and "redis://" in message
    assert PASSWORD not in message
    assert isolated_config.redis_url is None  # nothing changed


def test_budgets_parse_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AURELIS_BUDGETS", '{"gpt-4o": 200000, "total": 1000000}')
    assert load_config().budgets == {"gpt-4o": 200000, "total": 1000000}


@pytest.mark.parametrize(
    ("budgets", "expected"),
    [({"gpt-5": 10}, "budget names among"), ({"local": 10}, "budget names among"),
     ({"total": 0}, "at least 1 token")],
)  # fmt: skip
def test_unknown_budget_names_and_empty_budgets_are_refused(
    isolated_config: AurelisConfig, budgets: dict[str, int], expected: str
) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        isolated_config.budgets = budgets
