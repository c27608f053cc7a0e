"""Secret redaction: credentials are masked, ordinary code and counts are not."""

from __future__ import annotations

import logging

import pytest

from aurelis.core.log import RedactingFilter
from aurelis.core.redaction import REDACTED, looks_like_env_file, redact, register_secret


@pytest.mark.parametrize(
    "secret_line",
    [
        'API_KEY = "abcd1234efgh"',
        "password: hunter22hunter",
        "token=ghp_abcdefghijklmnopqrstuvwxyz1234",
        '"client_secret": "s3cr3t-value"',
        "aws = 'AKIAABCDEFGHIJKLMNOP'",
        'curl -H "Authorization: Bearer abcdefghijklmnopqrstuvwxyz"',
        "DefaultEndpointsProtocol=https;AccountKey=abcdefghijklmnop==;",
        "key = sk-proj-abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_credentials_are_masked(secret_line: str) -> None:
    cleaned = redact(secret_line)
    assert REDACTED in cleaned
    for secret in (
        "abcd1234efgh",
        "hunter22hunter",
        "ghp_abcdefghij",
        "s3cr3t-value",
        "AKIAABCDEFGHIJKLMNOP",
        "abcdefghijklmnopqrstuvwxyz",
        "abcdefghijklmnop==",
    ):
        assert secret not in cleaned


def test_private_key_blocks_are_masked_whole() -> None:
    text = "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\ndef\n-----END RSA PRIVATE KEY-----\nx = 1"
    assert redact(text) == f"{REDACTED}\nx = 1"


def test_url_credentials_keep_the_host() -> None:
    assert redact("postgres://bob:s3cret@db.local/app") == f"postgres://{REDACTED}@db.local/app"


@pytest.mark.parametrize(
    "code",
    [
        "def get_token(self):\n    return self._token",
        'api_key = os.environ["API_KEY"]',
        '{"tokens": 1064, "max_tokens": 256}',
        "password = None",
    ],
)
def test_ordinary_code_and_counts_are_left_alone(code: str) -> None:
    assert redact(code) == code


def test_registered_secret_is_masked_anywhere() -> None:
    register_secret("plain-looking-value-42")
    assert redact("using plain-looking-value-42 now") == f"using {REDACTED} now"


def test_env_files_are_recognised() -> None:
    assert looks_like_env_file("/p/.env") and looks_like_env_file("config/.env.local")
    assert looks_like_env_file("prod.env") and not looks_like_env_file("environment.py")


def test_log_records_are_redacted_before_formatting() -> None:
    record = logging.LogRecord(
        "aurelis", logging.INFO, "x", 1, "token=%s", ("ghp_" + "a" * 30,), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == f"token={REDACTED}"
