"""Secret redaction: credentials are masked, ordinary code and counts are not."""

from __future__ import annotations

import logging

import pytest

from aurelis.core.log import RedactingFilter
from aurelis.core.secrets import REDACTED, is_secret_file, redact, register_secret


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


def test_dotenv_files_are_secret_files_by_name() -> None:
    assert is_secret_file("/p/.env") and is_secret_file("config/.env.local")
    assert is_secret_file("prod.env") and not is_secret_file("environment.py")


def test_log_records_are_redacted_before_formatting() -> None:
    record = logging.LogRecord(
        "aurelis", logging.INFO, "x", 1, "token=%s", ("ghp_" + "a" * 30,), None
    )
    RedactingFilter().filter(record)
    assert record.getMessage() == f"token={REDACTED}"


# --- the credential formats users meet --------------------------------------------------------
def _masks(line: str, *secrets: str) -> str:
    cleaned = redact(line)
    for secret in secrets:
        assert secret not in cleaned, cleaned
    assert REDACTED in cleaned
    return cleaned


def test_a_password_holding_at_signs_is_masked_whole_and_the_host_kept() -> None:
    cleaned = _masks("postgres://app:p@ss@w0rd@db.internal/app", "p@ss", "w0rd")
    assert cleaned.endswith("@db.internal/app")


def test_a_redis_url_with_only_a_password_is_masked() -> None:
    assert _masks("redis://:s3cretvalue@cache:6379/0", "s3cretvalue").endswith("@cache:6379/0")


def test_an_odbc_password_in_braces_with_spaces_is_masked() -> None:
    cleaned = _masks('"Server=db;Uid=sa;Pwd={my p;ss w0rd};Encrypt=yes"', "my p", "ss w0rd")
    assert "Encrypt=yes" in cleaned and "Uid=sa" in cleaned


@pytest.mark.parametrize(
    ("line", "secret", "kept"),
    [
        ('password = "correct horse, battery staple!"', "correct horse", 'password = "'),
        ('DB_PASS = "Zx9!kq@2"', "Zx9!kq@2", 'DB_PASS = "'),
        ("pwd = 'S3cr3t!'", "S3cr3t!", "pwd = '"),
        ('key.unlock(passphrase="my long pass phrase")', "pass phrase", "key.unlock(passphrase="),
        ("export DB_PASS=correct horse battery", "horse battery", "export DB_PASS="),
        ("Possible hardcoded password: 'Tr0ub4dor&3'", "Tr0ub4dor&3", "Possible hardcoded"),
        ("machine api.example.com login bob password n3trcpw", "n3trcpw", "machine api.example"),
        ("db.internal:5432:app:deploy:pgp4ssword", "pgp4ssword", "db.internal:5432:app"),
    ],
)
def test_values_named_like_secrets_are_masked_and_the_name_kept(
    line: str, secret: str, kept: str
) -> None:
    assert _masks(line, secret).startswith(kept)


def test_an_aws_secret_key_passed_positionally_is_masked() -> None:
    key_id, secret = "AK" + "IA" + "Q" * 16, "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    _masks(f'boto3.client("s3", "{key_id}", "{secret}")', key_id, secret)


def test_a_pem_block_cut_by_a_window_is_masked_from_either_end() -> None:
    body = "\n".join("A1b2" * 16 for _ in range(3))
    head = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + body  # the END fell after the window
    tail = body + "\n-----END OPENSSH PRIVATE KEY-----\nx = 1"  # the BEGIN fell before it
    assert redact(head) == REDACTED
    assert redact(tail) == f"{REDACTED}\nx = 1"


def test_a_string_holding_only_a_pem_header_is_code_not_a_key() -> None:
    code = 'HEADER = "-----BEGIN RSA PRIVATE KEY-----"\nparse(HEADER)\n'
    assert redact(code) == code


@pytest.mark.parametrize(
    "code",
    [
        'sha = "da39a3ee5e6b4b0d3255bfef95601890afd80709"',  # a git SHA-1
        'digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
        'request_id = "123e4567-e89b-12d3-a456-426614174000"',  # a UUID
        'VECTOR = "TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsuIFRoYXQ="',  # base64 test vector
        'f"{scheme}://{user}:{password}@{host}"',  # a format string, not a URL
        'token_type = "bearer"',
        'password_hint = "at least 8 characters"',
        'TOKEN_ENV = "GITHUB_TOKEN"',
        "if token == 'async':",
        "password: Optional[str] = None",
        "token: str",
        "self.zip.extract(name, pwd=pwd)",
        "popen_kwargs['pass_fds'] = [self.file]",
        "RawDescriptionHelpFormatter, ArgumentDefaultsHelpFormatter",
        'user_pass = "%s:%s" % (user, password)',
        "# token          = 1*tchar",  # a grammar in a comment
        "eth0 Link encap:Ethernet HWaddr 12:34:56:78:90:ab",  # a MAC address, not .pgpass
        "    plain_token_server: ModelServer,",  # a parameter's annotation
        "secrets by nature (`.env`, keys, credentials: `core.secret_files`)",
        "'pass': 'The \"pass\" statement'",
        '_NO_TOKEN = "unused"',
    ],
)
def test_hashes_uuids_vectors_and_code_are_left_alone(code: str) -> None:
    assert redact(code) == code


def test_redaction_is_line_local_so_edits_can_be_mapped_back() -> None:
    # restore_secrets (lsp/postprocess) finds the user's line by redacting it alone: that
    # must give exactly the line the model saw inside the whole text.
    lines = [
        'url = "postgres://app:pw-1234@db/app"',
        "def f():",
        '    token = "ghp_' + "a1B2c3D4e5" * 4 + '"',
        "    return token",
    ]
    whole = redact("\n".join(lines)).split("\n")
    assert whole == [redact(line) for line in lines]
    assert whole[1] == lines[1] and whole[3] == lines[3]


def test_detect_secrets_catches_formats_our_rules_do_not_know() -> None:
    discord = "M" + "a1B2c3D4e5F6g7H8i9J0k1L" + "." + "Gh3kLm" + "." + "x" * 20 + "Yz12345"
    assert discord not in redact(f'bot.run("{discord}")')


def test_the_configured_token_is_masked_before_any_provider_exists(
    isolated_config: object,
) -> None:
    from aurelis.core.config import load_config

    token = "plain-looking-" + "configured-value-" + "9f8e7d"
    load_config(token=token)  # what reading AURELIS_TOKEN or a config file does
    assert token not in redact(f"my token is {token}, please debug")


def test_log_tracebacks_are_redacted() -> None:
    secret = "ghp_" + "Z9y8X7w6" * 5
    try:
        raise RuntimeError(f"request failed with params token={secret}")
    except RuntimeError:
        record = logging.LogRecord(
            "pygls", logging.ERROR, "x", 1, "failed", None, __import__("sys").exc_info()
        )
    RedactingFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert secret not in formatted and "RuntimeError" in formatted


def test_crlf_line_endings_survive_redaction() -> None:
    text = "export DB_PASS=correct horse\r\npassword = 'hunter2!'\r\nx = 1\r\n"
    assert redact(text) == f"export DB_PASS={REDACTED}\r\npassword = '{REDACTED}'\r\nx = 1\r\n"
