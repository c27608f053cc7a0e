"""A value given a secret's name, or passed as a password flag, is masked whatever its
length or shape; the look-alikes that are code (`mkdir -p`, `ssh -p 22`, uid:gid, counts,
format specs) are left alone."""

from __future__ import annotations

import pytest

from aurelis.core.secrets.redaction import REDACTED, redact

AWS = "Zk3mQ9pL2xV8n/B4cR7tY/1uI6oP0aS5dF3gH8jK"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f'aws_secret_access_key = "{AWS[:39]}"', AWS[:39]),
        (f'aws_secret_access_key = "{AWS[:12]}"', AWS[:12]),
        (f"export AWS_SECRET_ACCESS_KEY={AWS}", AWS),
        (f"AWS_SECRET_ACCESS_KEY={AWS}", AWS),
        (f"ENV AWS_SECRET_ACCESS_KEY {AWS}", AWS),
        (f"env aws_secret_access_key {AWS}", AWS),
        (f"setenv DB_PASSWORD {AWS[:8]}", AWS[:8]),
        (f"aws_secret_access_key: {AWS}", AWS),
        (f"    secret_access_key: {AWS}", AWS),
        ("password: ab", "ab"),
        ("PASSWORD=xyz", "xyz"),
        ('"client_secret": "q1"', "q1"),
        ("password = 'x9'", "x9"),
        ("mysql -u root -pS3cr3tPassw0rd -h db", "S3cr3tPassw0rd"),
        ("mysqldump -u root -pab1 app", "ab1"),
        ("curl -u admin:S3cr3tPw https://example.test", "S3cr3tPw"),
        ("curl --user admin:hunter2 https://example.test", "hunter2"),
        ("psql --password=hunter2 -h db", "hunter2"),
        ("tool --db-password 'pa ss' --verbose", "pa ss"),
        ("tool --token=abc", "abc"),
        ("sshpass -p hunter2 ssh deploy@host", "hunter2"),
        ("docker login -u me -p hunter2 registry.example.test", "hunter2"),
        ("PIN_PASSWORD=1234", "1234"),
    ],
)
def test_named_and_flagged_values_are_masked_whatever_their_length(line: str, secret: str) -> None:
    masked = redact(line)
    assert secret not in masked and REDACTED in masked


@pytest.mark.parametrize(
    "code",
    [
        "mkdir -p build/out",
        "ssh -p 22 deploy@host",
        "docker run -u 1000:1000 image",
        "tool --token-file /etc/tool/token",
        "echo $PW | docker login --password-stdin registry.example.test",
        "use --password to set the password",
        "mysql -p -u root",
        "ENV PATH /usr/local/bin",
        "ENV API_TOKEN ${TOKEN}",
        '  password: "${DB_PASS}"',
        'token = "("',
        "_MAX_CHARS_PER_TOKEN = 8",
        "CLIENT_KEY_EXCHANGE = 16",
        "with self.subTest(f'token {token:02x}'):",
        'key_type = "rsa"',
        'password = ""',
    ],
)
def test_code_that_looks_like_a_flag_or_a_short_value_is_left_alone(code: str) -> None:
    assert redact(code) == code


def test_the_name_is_kept_so_the_model_still_reads_the_code() -> None:
    assert (
        redact(f"export AWS_SECRET_ACCESS_KEY={AWS}") == f"export AWS_SECRET_ACCESS_KEY={REDACTED}"
    )
    assert redact("mysql -u root -pS3cr3t -h db") == f"mysql -u root -p{REDACTED} -h db"
