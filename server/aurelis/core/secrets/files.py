"""Files that are secrets by nature: never context, never sent, open in an editor or not.

A `.netrc`, an SSH key or a `.env` file holds little besides credentials, so masking the
values inside would still leak their shape (hosts, user names, key comments) and a single
missed format leaks the rest. The rule here is by name alone, so it costs nothing and the
LSP and the CLI apply the same one.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

__all__ = ["is_secret_file", "secret_file_refusal"]

# Exact file names (lower case).
_NAMES = frozenset(
    {
        ".netrc",
        "_netrc",
        ".pgpass",
        ".git-credentials",
        ".npmrc",
        ".pypirc",
        ".yarnrc",
        ".yarnrc.yml",
        ".dockercfg",
        ".htpasswd",
        ".my.cnf",
        ".s3cfg",
        ".boto",
        ".vault-token",
        ".terraformrc",
        "terraform.rc",
        "credentials",
        "credentials.json",
        "credentials.toml",
        "credentials.yml",
        "credentials.yaml",
        "credentials.xml",
        "client_secret.json",
        "client_secrets.json",
        "service-account.json",
        "service_account.json",
        "known_hosts",
        "authorized_keys",
        "keystore",
        "secring.gpg",
        "pubring.kbx",
        "trustdb.gpg",
    }
)
# File name suffixes (lower case): key material and keystores.
_SUFFIXES = (
    ".pem",
    ".key",
    ".p12",
    ".pfx",
    ".jks",
    ".keystore",
    ".p8",
    ".ppk",
    ".asc",
    ".gpg",
    ".pgp",
    ".kdbx",
    ".tfvars",
    ".tfstate",
    ".tfstate.backup",
    ".env",
    ".secret",
    ".secrets",
)
_PATTERNS = re.compile(
    r"""(?x)
    ^(?:
        \.env(?:\..*)?                        # .env, .env.local, .env.production
      | id_(?:rsa|dsa|ecdsa|ed25519|ecdsa_sk|ed25519_sk|xmss)(?:[._-].*)?   # ssh keys
      | id_[\w-]+                              # ssh keys named by hand: id_work (no suffix)
      | .*secrets?\.(?:ya?ml|json|toml|ini|txt|cfg|conf|properties)  # secrets.yaml
      | .*credentials?\.(?:ya?ml|json|toml|ini|txt|cfg|conf|properties|csv)
      | .*\.(?:pem|key)\.(?:bak|old|orig|txt)        # keys renamed by hand
    )$
    """
)
# Everything under these directories is credentials (AWS, Docker, kube, gnupg, ssh),
# public keys (`*.pub`) excepted.
_DIRECTORIES = frozenset({".aws", ".ssh", ".gnupg", ".docker", ".kube", ".azure"})


def is_secret_file(path: str) -> bool:
    """Whether `path` (a path or a file: URI) names a file that is secrets by nature."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts:
        return False
    name = parts[-1].lower()
    if name.endswith(".pub"):
        return False  # public keys are not secrets
    if name in _NAMES or name.endswith(_SUFFIXES) or _PATTERNS.match(name):
        return True
    return any(part.lower() in _DIRECTORIES for part in parts[:-1])


def secret_file_refusal(path: str) -> str:
    """The message a user sees when an action is asked on a secret file."""
    name = PurePosixPath(path.replace("\\", "/")).name or path
    return (
        f"Aurelis never sends {name} to a model: it is a credentials file "
        "(.env, .netrc, keys, cloud credentials). Run the action on the code that uses it."
    )
