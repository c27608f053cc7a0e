# ruff: noqa: E501 - a table of one-line snippets, each as it appears in real files
"""Credentials named by their key or passed as program flags, in the files that hold them.

`corpus` covers credential formats recognised by their shape; these are values that are
credentials only because of where they stand: a secret-named key in a shell script, a
Dockerfile, YAML, TOML, INI, JSON or Markdown, or a password flag on a command line. Short
values are included on purpose: a password is masked whatever its length. Values are
assembled at run time (seeded) so the repository holds nothing a scanner would flag.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

__all__ = ["ConfigShape", "config_shapes"]

_random = random.Random(20261206)


def _value(size: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(_random.choice(alphabet) for _ in range(size))


def _aws_secret() -> str:
    """A 40-character AWS-style secret with slashes, as the red-team used."""
    b64 = string.ascii_letters + string.digits + "+/"
    return _value(12, b64) + "/" + _value(13) + "7" + _value(12, b64) + "/"


@dataclass(frozen=True)
class ConfigShape:
    name: str
    filename: str
    language: str
    text: str
    secrets: tuple[str, ...]
    marker: str


def _shapes() -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    """(name, file name, language id, text with {m} for the marker, secrets)."""
    aws39 = _aws_secret()[:39]
    aws = [_aws_secret() for _ in range(6)]
    short = [_value(2) + "9" for _ in range(6)]
    mysql, curl, flag, dbpw, sshpass = (_value(9) for _ in range(5))
    return [
        ("aws key of 39 characters", "settings.py", "python",
         f'aws_secret_access_key = "{aws39}"  # {{m}}', (aws39,)),
        ("export, unquoted, with slashes", "deploy.sh", "shellscript",
         f"#!/bin/sh\n# {{m}}\nexport AWS_SECRET_ACCESS_KEY={aws[0]}\naws s3 ls\n", (aws[0],)),
        ("assignment in a shell script", "env.sh", "shellscript",
         f"# {{m}}\nAWS_SECRET_ACCESS_KEY={aws[1]}\nDB_PASSWORD={short[0]}\n", (aws[1], short[0])),
        ("Dockerfile ENV with a space", "Dockerfile", "dockerfile",
         f"FROM python:3.12\n# {{m}}\nENV AWS_SECRET_ACCESS_KEY {aws[2]}\nENV API_TOKEN={short[1]}\n",
         (aws[2], short[1])),
        ("YAML keys", "compose.yml", "yaml",
         f"# {{m}}\nservices:\n  app:\n    environment:\n      aws_secret_access_key: {aws[3]}\n"
         f"      secret_access_key: {aws[4]}\n      password: {short[2]}\n", (aws[3], aws[4], short[2])),
        ("TOML keys", "settings.toml", "toml",
         f'# {{m}}\n[database]\npassword = "{short[3]}"\nsecret_access_key = "{aws[5]}"\n',
         (short[3], aws[5])),
        ("INI keys", "app.ini", "ini", f"; {{m}}\n[db]\npassword = {short[4]}\n", (short[4],)),
        ("JSON keys", "config.json", "json",
         f'{{{{"note": "{{m}}", "client_secret": "{short[5]}"}}}}\n', (short[5],)),
        ("mysql -p on a command line", "backup.sh", "shellscript",
         f"# {{m}}\nmysqldump -u root -p{mysql} -h db app > dump.sql\nmysql -u root -p{mysql} -h db\n",
         (mysql,)),
        ("curl -u user:password", "README.md", "markdown",
         f"Call it ({{m}}):\n\n```sh\ncurl -u admin:{curl} https://api.example.test/v1\n```\n", (curl,)),
        ("--password= and --token flags", "ci.yml", "yaml",
         f"# {{m}}\nsteps:\n  - run: psql --password={dbpw} -h db\n  - run: tool --token {flag}\n",
         (dbpw, flag)),
        ("sshpass -p", "sync.sh", "shellscript", f"# {{m}}\nsshpass -p {sshpass} ssh deploy@host\n",
         (sshpass,)),
    ]  # fmt: skip


def config_shapes() -> list[ConfigShape]:
    """Every shape, each with its own marker."""
    shapes = []
    for index, (name, filename, language, text, secrets) in enumerate(_shapes()):
        marker = f"shape_{index:02d}_visible"
        shapes.append(ConfigShape(name, filename, language, text.format(m=marker), secrets, marker))
    return shapes
