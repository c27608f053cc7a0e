# ruff: noqa: E501 - a table of one-line snippets, each as it appears in real code
"""Fake credentials in the formats Aurelis must never send, built at run time.

Each value is assembled from pieces and random characters (seeded, so runs repeat), so
this repository holds no string a secret scanner would flag. Every `Planted` is a snippet
as it appears in real code or config, the secret values inside it (none may reach the
model) and a marker next to them (which must reach it, or the test proves nothing).
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

__all__ = ["Planted", "planted_secrets", "SECRET_FILES"]

_random = random.Random(20261130)


def _pick(alphabet: str, size: int) -> str:
    return "".join(_random.choice(alphabet) for _ in range(size))


def alnum(size: int) -> str:
    return _pick(string.ascii_letters + string.digits, size)


def hexa(size: int) -> str:
    return _pick("0123456789abcdef", size)


def upper(size: int) -> str:
    return _pick(string.ascii_uppercase + string.digits, size)


def b64(size: int) -> str:
    return _pick(string.ascii_letters + string.digits + "+/", size)


def urlsafe(size: int) -> str:
    return _pick(string.ascii_letters + string.digits + "-_", size)


def mixed40() -> str:
    """An AWS-style secret key: 40 base64 characters, mixed case, a digit and a slash."""
    return b64(12) + "/" + alnum(13) + "7" + b64(13)


@dataclass(frozen=True)
class Planted:
    name: str
    snippet: str
    secrets: tuple[str, ...]
    marker: str


def _pem(kind: str, lines: int = 6) -> tuple[str, str]:
    body = "\n".join(b64(64) for _ in range(lines))
    dashes = "-" * 5
    block = f"{dashes}BEGIN {kind}{dashes}\n{body}\n{dashes}END {kind}{dashes}"
    return block, body.split("\n")[2]


def _jwt() -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part({"sub": alnum(12), "name": "Ada", "iat": 1700000000})
    return f"{header}.{payload}.{urlsafe(43)}"


def _formats() -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, snippet with {m} for the marker, secrets)."""
    key_id = "AK" + "IA" + upper(16)
    aws_secret = mixed40()
    pgp, pgp_line = _pem("PGP PRIVATE KEY BLOCK")
    pgp = pgp.replace("BLOCK-----\n", "BLOCK-----\nVersion: GnuPG v2\n\n", 1)
    rsa, rsa_line = _pem("RSA PRIVATE KEY")
    openssh, openssh_line = _pem("OPENSSH PRIVATE KEY")
    ec, ec_line = _pem("EC PRIVATE KEY", 3)
    encrypted, encrypted_line = _pem("ENCRYPTED PRIVATE KEY")
    pkcs8, pkcs8_line = _pem("PRIVATE KEY", 4)
    pkcs8_escaped = pkcs8.replace("\n", "\\n")  # as JSON holds it: one line
    at_password = f"Pa@ss{alnum(6)}@w0rd"
    redis_password = alnum(20)
    odbc_password = f"{alnum(6)} ;x{alnum(4)}!"
    spaced = f"correct horse {alnum(5)} battery, staple!"
    db_pass, pwd, phrase = f"Zx9!{alnum(8)}", f"S3c{alnum(7)}!", f"my long {alnum(6)} phrase"
    stripe = "sk" + "_live_" + alnum(24)
    gitlab = "gl" + "pat-" + urlsafe(20)
    hugging = "hf" + "_" + alnum(34)
    netrc_password = f"n3trc{alnum(10)}"
    quoted = f"Tr0ub4dor&{alnum(5)}"
    ghp = "gh" + "p_" + alnum(36)
    fine = "github" + "_pat_" + alnum(22) + "_" + alnum(59)
    ghs = "gh" + "s_" + alnum(36)
    openai = "sk-" + "proj-" + urlsafe(48)
    anthropic = "sk-" + "ant-api03-" + urlsafe(93) + "AA"
    slack = "xo" + "xb-" + f"{_pick(string.digits, 12)}-{_pick(string.digits, 13)}-{alnum(24)}"
    google = "AI" + "za" + urlsafe(35)
    account_key = b64(86) + "=="
    jwt = _jwt()
    npm = "np" + "m_" + alnum(36)
    pypi = "py" + "pi-AgEIcHlwaS5vcmc" + urlsafe(60)
    sendgrid = "S" + "G." + urlsafe(22) + "." + urlsafe(43)
    twilio = "S" + "K" + hexa(32)
    shopify = "sh" + "pat_" + hexa(32)
    digitalocean = "do" + "p_v1_" + hexa(64)
    mailgun = "ke" + "y-" + alnum(32)
    square = "sq" + "0csp-" + urlsafe(43)
    square_token = "EA" + "AA" + urlsafe(60)
    webhook = f"T{upper(8)}/B{upper(8)}/{alnum(24)}"
    bearer = alnum(40)
    basic_password = f"b4sic{alnum(8)}"
    pgpass_password = f"pgp4ss{alnum(8)}"
    vault = "hv" + "s." + urlsafe(90)
    databricks = "da" + "pi" + hexa(32)
    telegram = f"{_pick(string.digits, 10)}:AA{urlsafe(33)}"
    azure_ad = f"{alnum(3)}8Q~{urlsafe(31)}"
    mailchimp = hexa(32) + "-us" + "14"
    discord = "M" + alnum(23) + "." + urlsafe(6) + "." + urlsafe(27)
    artifactory = "AK" + "C" + alnum(70)
    sas = f"{alnum(30)}%2B{alnum(10)}%3D"
    yaml_key = alnum(32)
    dsn_password = f"{alnum(12)}"
    return [
        ("aws secret key, positional", f'boto3.client("s3", "{key_id}", "{aws_secret}")  # {{m}}',
         (key_id, aws_secret)),
        ("aws keys by name", f'aws_secret_access_key = "{aws_secret}"  # {{m}}', (aws_secret,)),
        ("pgp private key block", f"{{m}}\n{pgp}", (pgp_line,)),
        ("url password with @", f'DSN = "postgres://app:{at_password}@db.internal:5432/app"  # {{m}}',
         (at_password, "ss" + at_password[4:])),
        ("redis url, password only", f'REDIS = "redis://:{redis_password}@cache:6379/0"  # {{m}}',
         (redis_password,)),
        ("odbc pwd", f'conn = "Driver={{{{ODBC 18}}}};Server=db;Uid=sa;Pwd={{{{{odbc_password}}}}};"  # {{m}}',
         (odbc_password, odbc_password.split(" ")[0])),
        ("password with spaces and punctuation", f'password = "{spaced}"  # {{m}}', (spaced,)),
        ("DB_PASS variable", f'DB_PASS = "{db_pass}"  # {{m}}', (db_pass,)),
        ("pwd variable", f"pwd = '{pwd}'  # {{m}}", (pwd,)),
        ("passphrase variable", f'key.unlock(passphrase="{phrase}")  # {{m}}', (phrase,)),
        ("stripe key as call argument", f'client = stripe.StripeClient("{stripe}")  # {{m}}', (stripe,)),
        ("gitlab token as call argument", f'gl = gitlab.Gitlab("https://gitlab.com", "{gitlab}")  # {{m}}',
         (gitlab,)),
        ("hugging face token as call argument", f'huggingface_hub.login("{hugging}")  # {{m}}', (hugging,)),
        (".netrc line", f"machine api.example.com login deploy password {netrc_password}\n# {{m}}",
         (netrc_password,)),
        ("linter message quoting a password", f"Possible hardcoded password: '{quoted}' {{m}}", (quoted,)),
        ("github classic token", f'GITHUB_TOKEN = "{ghp}"  # {{m}}', (ghp,)),
        ("github fine-grained token", f'gh = Github("{fine}")  # {{m}}', (fine,)),
        ("github app installation token", f"git clone https://x-access-token:{ghs}@github.com/o/r  # {{m}}",
         (ghs,)),
        ("openai key", f'openai.OpenAI(api_key="{openai}")  # {{m}}', (openai,)),
        ("anthropic key", f'anthropic.Anthropic("{anthropic}")  # {{m}}', (anthropic,)),
        ("slack bot token", f'WebClient("{slack}")  # {{m}}', (slack,)),
        ("google api key", f'genai.configure("{google}")  # {{m}}', (google,)),
        ("azure storage connection string",
         f'conn = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={account_key};'
         f'EndpointSuffix=core.windows.net"  # {{m}}', (account_key, account_key[:40])),
        ("azure sas url", f'url = "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig={sas}"  # {{m}}',
         (sas,)),
        ("jwt", f'headers = {{{{"Authorization": "Bearer {jwt}"}}}}  # {{m}}', (jwt, jwt.split(".")[2])),
        ("npm token", f"//registry.npmjs.org/:_authToken={npm}  # {{m}}", (npm,)),
        ("pypi token", f'twine_upload(token="{pypi}")  # {{m}}', (pypi,)),
        ("sendgrid key", f'SendGridAPIClient("{sendgrid}")  # {{m}}', (sendgrid,)),
        ("twilio api key", f'Client("{twilio}", "x")  # {{m}}', (twilio,)),
        ("shopify token", f'shopify.Session("shop", "2024-01", "{shopify}")  # {{m}}', (shopify,)),
        ("digitalocean token", f'digitalocean.Manager("{digitalocean}")  # {{m}}', (digitalocean,)),
        ("mailgun key", f'requests.post(url, auth=("api", "{mailgun}"))  # {{m}}', (mailgun,)),
        ("square secret", f'Square("{square}")  # {{m}}', (square,)),
        ("square access token", f'square.Client("{square_token}")  # {{m}}', (square_token,)),
        ("rsa private key", f"{{m}}\nKEY = '''{rsa}'''", (rsa_line,)),
        ("openssh private key", f"{{m}}\n{openssh}", (openssh_line,)),
        ("ec private key", f"{{m}}\n{ec}", (ec_line,)),
        ("encrypted private key", f"{{m}}\n{encrypted}", (encrypted_line,)),
        ("service account json key",
         f'{{{{"type": "service_account", "private_key": "{pkcs8_escaped}"}}}}  # {{m}}',
         (pkcs8_line,)),
        ("slack webhook", f'post("https://hooks.slack.com/services/{webhook}")  # {{m}}',
         (webhook.split("/")[2],)),
        ("bearer header", f'curl -H "Authorization: Bearer {bearer}" https://api.example.com  # {{m}}',
         (bearer,)),
        ("basic auth url", f'requests.get("https://deploy:{basic_password}@repo.example.com/x")  # {{m}}',
         (basic_password,)),
        (".pgpass line", f"db.internal:5432:app:deploy:{pgpass_password}\n# {{m}}", (pgpass_password,)),
        ("vault token", f'hvac.Client(url, token="{vault}")  # {{m}}', (vault,)),
        ("databricks token", f'WorkspaceClient(host, "{databricks}")  # {{m}}', (databricks,)),
        ("telegram bot token", f'Bot("{telegram}")  # {{m}}', (telegram,)),
        ("azure ad client secret", f'ClientSecretCredential(tenant, client, "{azure_ad}")  # {{m}}',
         (azure_ad,)),
        ("mailchimp key", f'MailchimpMarketing.Client("{mailchimp}")  # {{m}}', (mailchimp,)),
        ("discord bot token", f'bot.run("{discord}")  # {{m}}', (discord,)),
        ("artifactory key", f'headers["X-JFrog-Art-Api"] = "{artifactory}"  # {{m}}', (artifactory,)),
        ("yaml api key", f"api_key: {yaml_key}\n# {{m}}", (yaml_key,)),
        ("sentry-style dsn with password", f'dsn = "https://pub:{dsn_password}@o1.ingest.example.io/1"  # {{m}}',
         (dsn_password,)),
    ]  # fmt: skip


def planted_secrets() -> list[Planted]:
    """Every format, each with its own marker."""
    planted = []
    for index, (name, snippet, secrets) in enumerate(_formats()):
        marker = f"marker_{index:02d}_visible"
        planted.append(Planted(name, snippet.format(m=marker), secrets, marker))
    return planted


#: Files that are secrets by nature: (relative path, content). Their marker must never
#: reach the model, masked or not.
SECRET_FILES: tuple[tuple[str, str], ...] = (
    (".netrc", "machine example.test login bob password netrcfilemarker\n"),
    (".pgpass", "db:5432:app:bob:pgpassfilemarker\n"),
    ("deploy/server.pem", "pemfilemarker\n"),
    ("deploy/tls.key", "keyfilemarker\n"),
    ("id_ed25519", "sshkeyfilemarker\n"),
    (".env.production", "envfilemarker=1\n"),
    (".aws/credentials", "[default]\nawsfilemarker = 1\n"),
    (".git-credentials", "https://bob:gitcredfilemarker@example.test\n"),
    (".npmrc", "npmrcfilemarker=1\n"),
    (".pypirc", "[pypi]\npypircfilemarker = 1\n"),
    ("certs/client.p12", "p12filemarker\n"),
    ("config/secrets.yaml", "secretsyamlfilemarker: 1\n"),
)
