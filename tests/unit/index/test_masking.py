"""The index redacts only the lines its scan flags: what it keeps must be what `redact`
gives, on every planted credential, on real code and on the shapes that reach each rule."""

from __future__ import annotations

import secrets
import string
from pathlib import Path

import pytest
from tests.security.corpus import planted_secrets
from tests.security.shapes import config_shapes

from aurelis.core.secrets import REDACTED, redact, register_secret
from aurelis.core.secrets.patterns import TOKEN_FORMATS
from aurelis.index.chunks import chunk_source
from aurelis.index.masking import redact_for_index

SERVER = Path(__file__).resolve().parents[3] / "server"
# The token formats the scan in `masking` was checked against: a format added to
# `core.secrets` needs a look there (does its token hold 16 letters and digits in a row,
# or a digit, or is its prefix one of the scan's words?) before it joins this list.
REVIEWED_FORMATS = frozenset(
    {
        "github classic/app", "github fine-grained", "gitlab", "gitlab runner", "anthropic",
        "openai", "aws access key id", "google api key", "google oauth secret",
        "google oauth token", "slack token", "slack app token", "slack webhook", "stripe",
        "stripe webhook", "hugging face", "jwt", "npm", "pypi", "sendgrid", "twilio api key",
        "shopify", "digitalocean", "mailgun", "mailgun private key", "mailchimp", "square",
        "square access token", "telegram bot", "atlassian", "databricks", "vault", "grafana",
        "linear", "postman", "new relic", "doppler", "sentry", "groq", "replicate",
        "perplexity", "xai", "age secret key", "azure ad client secret",
        "authorization header", "basic auth header", "labelled key", "signed url signature",
    }
)  # fmt: skip


def _letters(size: int) -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(size))


# Credentials without a digit or without 16 letters in a row, and the flags and line
# shapes that only some rules look at: the scan must flag each of them.
TRICKY_LINES = [
    f'TOKEN = "ghp_{_letters(36)}"',
    f"client = Github('github_pat_{_letters(11)}_{_letters(11)}_{_letters(20)}')",
    f'key = "sk-{_letters(8)}-{_letters(8)}-{_letters(8)}"',
    f"Authorization: Bearer {_letters(24)}",
    f"bot = Bot('12345678:AA{_letters(10)}_{_letters(10)}-{_letters(11)}')",
    f"jwt = 'eyJ{_letters(14)}.eyJ{_letters(14)}.{_letters(14)}'",
    f"ya29.{_letters(24)}",
    f"run mysqldump -u root -p{_letters(9)} app",
    f"curl --user deploy:{_letters(9)} https://example.test",
    f"sshpass -p {_letters(9)} ssh host",
    f"db.internal:5432:app:deploy:{_letters(9)}",
    f"machine example.test login bob password {_letters(9)}",
    f"Server=db;Uid=app;Pwd={_letters(9)};",
    f"value = '{_letters(8)}\u0663{_letters(12)}'",  # a non-ASCII digit: detect-secrets' run
    f"url = 'https://{_letters(10)}7{_letters(10)}@github.com/org/repo.git'",
]


def _real_code() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted(SERVER.rglob("*.py"))]


@pytest.mark.parametrize(
    "text",
    [planted.snippet for planted in planted_secrets()]
    + [shape.text for shape in config_shapes()]
    + TRICKY_LINES,
)
def test_every_planted_credential_is_masked_as_redact_masks_it(text: str) -> None:
    code = f"def f():\n    x = 1\n{text}\n    return x\n"
    assert redact_for_index(text) == redact(text)
    assert redact_for_index(code) == redact(code)


def test_real_code_comes_out_as_redact_leaves_it() -> None:
    for source in _real_code():
        lines = source.split("\n")
        for start in range(0, len(lines), 40):
            piece = "\n".join(lines[start : start + 40])
            assert redact_for_index(piece) == redact(piece)


def test_a_private_key_block_spanning_lines_is_masked_whole() -> None:
    body = "\n".join(_letters(64) for _ in range(4))
    block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    text = f"KEY = '''\n{block}\n'''\n"
    masked = redact_for_index(text)
    assert masked == redact(text) and body.split("\n")[1] not in masked


def test_a_registered_secret_is_masked_in_the_chunks_on_any_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = "plain" + _letters(10).lower()  # no digit, no keyword: the scan cannot see it
    # Registered for this test alone (the registry lasts as long as the process).
    monkeypatch.setattr("aurelis.core.secrets.redaction._known_secrets", ())
    register_secret(known)
    chunks, _ = chunk_source("settings.py", f"def connect():\n    return login('{known}')\n")
    assert known not in "".join(chunk.text for chunk in chunks)
    assert REDACTED in chunks[0].text


def test_the_scan_was_checked_against_every_token_format() -> None:
    assert {name for name, _hints, _pattern in TOKEN_FORMATS} == REVIEWED_FORMATS


def test_indexed_lines_stay_out_of_the_prompts_line_cache() -> None:
    from aurelis.core.secrets.redaction import _cached_line

    lines = [f"api_key_{n} = 'sk-live-{_letters(24)}'" for n in range(50)]
    before = _cached_line.cache_info().currsize

    masked = redact_for_index("\n".join(lines))

    assert masked.count(REDACTED) == 50  # redacted all the same
    assert _cached_line.cache_info().currsize == before
    redact(lines[0])  # a prompt's line is remembered as before
    assert _cached_line.cache_info().currsize == before + 1
