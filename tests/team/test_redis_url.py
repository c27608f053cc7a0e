"""Redis URLs are checked at configuration time and never shown with their password;
keyspaces keep two tokens apart without revealing either."""

from __future__ import annotations

import pytest

from aurelis.core.exceptions import ConfigurationError
from aurelis.core.redis_url import check_url, redact_url, url_secrets
from aurelis.models.shared.keys import keyspace_for

SECRET = "s3cr3t-Passw0rd"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"redis://:{SECRET}@cache.internal:6379/0", "redis://***@cache.internal:6379/0"),
        (f"redis://team:{SECRET}@cache.internal/2", "redis://***@cache.internal/2"),
        (f"rediss://{SECRET}@cache.internal:6380", "rediss://***@cache.internal:6380"),
        (f"redis://cache.internal/0?password={SECRET}", "redis://cache.internal/0?password=***"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
    ],
)
def test_a_shown_url_never_contains_its_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert SECRET not in redact_url(url)


def test_every_credential_of_a_url_is_known_for_masking() -> None:
    assert set(url_secrets(f"redis://team:{SECRET}@h/0?password=other")) == {
        "team",
        SECRET,
        "other",
    }


@pytest.mark.parametrize(
    "url",
    [
        f"http://:{SECRET}@cache.internal:6379",
        f"redis://:{SECRET}@cache.internal:99999",
        f"redis://:{SECRET}@/0",
        f"redis://:{SECRET}@cache.internal/zero",
        "unix://",
    ],
)
def test_a_bad_url_is_refused_with_the_password_masked(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_url(url)
    assert "redis_url" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["redis://localhost", "rediss://:pw@h:6380/3", "unix:///run/redis.sock"]
)
def test_good_urls_pass(url: str) -> None:
    assert check_url(url) == url


def test_two_tokens_on_one_endpoint_get_different_keyspaces() -> None:
    first = keyspace_for("https://models.example/v1", "token-one-abcdef")
    second = keyspace_for("https://models.example/v1", "token-two-abcdef")
    assert first != second
    assert keyspace_for("https://models.example/v1/", "token-one-abcdef") == first


def test_one_token_on_two_endpoints_gets_different_keyspaces() -> None:
    token = "token-one-abcdef"
    assert keyspace_for("https://a.example", token) != keyspace_for("https://b.example", token)


def test_a_key_reveals_neither_token_nor_endpoint() -> None:
    key = keyspace_for("https://models.example/v1", "token-one-abcdef").key("rl", "gpt-4o")
    assert "token-one" not in key and "models.example" not in key
    assert key.startswith("aurelis:v1:{") and key.endswith(":rl:gpt-4o")
