"""Secret redaction: nothing that looks like a credential leaves the process unmasked.

Used on everything bound for a model (prompts, context), for logs and for error messages.
Patterns are deliberately broad: a false positive costs a few characters of context, a
false negative leaks a credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["redact", "REDACTED", "register_secret", "looks_like_env_file"]

REDACTED = "[REDACTED]"

_TOKEN_PATTERNS = [
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}\b",  # GitHub tokens
    r"\bgithub_pat_[A-Za-z0-9_]{20,}\b",
    r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}\b",  # OpenAI / Anthropic style keys
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",  # AWS access key ids
    r"\bAIza[0-9A-Za-z_\-]{35}\b",  # Google API keys
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b",  # Slack
    r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b",  # JWTs
    r"\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+[A-Za-z0-9._~+/=-]{16,}",
    r"(?:AccountKey|SharedAccessKey|api-key|API-KEY)=[^;\s\"']{8,}",
]
# `password = "..."`, `API_KEY: ...`, `"client_secret": "..."`: keep the name, hide the value.
_ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<name>\b[\w.-]*(?:passw(?:or)?d|passwd|secret|token|api[_-]?key|apikey|access[_-]?key
        |private[_-]?key|credential|auth)[\w.-]*["']?\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"',;)}\]]{4,})
    (?P=quote)
    """
)
# scheme://user:password@host
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.I)

_NOT_SECRETS = frozenset({"none", "null", "true", "false", "undefined", "nil"})
_CODE_REFERENCE = re.compile(r"^(?:[A-Za-z_][\w.]*[\[(]|(?:os|self|this|config|settings|env)\.)")

_NOT_SECRETS = frozenset({"none", "null", "true", "false", "undefined", "nil"})
_CODE_REFERENCE = re.compile(r"^(?:[A-Za-z_][\w.]*[\[(]|(?:os|self|this|config|settings|env)\.)")

_TOKEN_RE = re.compile("|".join(f"(?:{pattern})" for pattern in _TOKEN_PATTERNS))
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember an exact secret (e.g. the configured token) so it is always masked."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Return `text` with credentials replaced by [REDACTED]."""
    if not text:
        return text
    for secret in (*_known_secrets, *extra_secrets):
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    text = _TOKEN_RE.sub(REDACTED, text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _ASSIGNMENT.sub(_mask_assignment, text)


def _mask_assignment(match: re.Match[str]) -> str:
    value = match.group("value")
    # Plain numbers are counts and sizes ("tokens": 1064, max_tokens=256), not secrets;
    # unquoted calls and lookups (os.environ[...], get_key()) are code, not values.
    if value.isdigit() or value.startswith(REDACTED[:-1]) or value.lower() in _NOT_SECRETS:
        return match.group(0)
    if not match.group("quote") and _CODE_REFERENCE.match(value):
        return match.group(0)
    quote = match.group("quote")
    return f"{match.group('name')}{quote}{REDACTED}{quote}"


def looks_like_env_file(path: str) -> bool:
    """`.env`, `.env.local`, `prod.env`: files whose whole content is secrets."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")
