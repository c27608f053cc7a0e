"""The one rule for files that are secrets by nature (`core.secrets.files`), as the LSP and
the CLI apply it."""

from __future__ import annotations

import pytest

from aurelis.core.secrets import is_secret_file, secret_file_refusal


@pytest.mark.parametrize(
    "path",
    [
        "/home/ada/.netrc", "proj/.pgpass", "proj/.env", "proj/.env.production", "prod.env",
        "deploy/server.pem", "deploy/tls.key", "certs/client.p12", "certs/client.pfx",
        "/home/ada/.ssh/id_rsa", "keys/id_ed25519", "keys/id_work", "/home/ada/.aws/credentials",
        "/home/ada/.aws/config", ".git-credentials", ".npmrc", ".pypirc", "config/secrets.yaml",
        "config/app-secrets.yml", "gcp/service-account.json", "file:///p/.netrc",
        "C:\\Users\\ada\\.ssh\\id_ecdsa", "infra/prod.tfvars", "infra/terraform.tfstate",
    ],
)  # fmt: skip
def test_files_holding_credentials_are_secret(path: str) -> None:
    assert is_secret_file(path)


@pytest.mark.parametrize(
    "path",
    [
        "src/environment.py", "src/keys.py", "src/id_utils.py", "src/tokenizer.py",
        "tests/test_secrets.py", "src/credentials.py", "docs/secret-management.md",
        "/home/ada/.ssh/id_ed25519.pub", "src/auth/login.ts", "README.md",
    ],
)  # fmt: skip
def test_source_files_named_near_secrets_are_not(path: str) -> None:
    assert not is_secret_file(path)


def test_the_refusal_names_the_file_and_what_to_do() -> None:
    message = secret_file_refusal("/home/ada/.netrc")
    assert ".netrc" in message and "never sends" in message and "code that uses it" in message
