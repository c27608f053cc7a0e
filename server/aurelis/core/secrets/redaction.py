"""Secret redaction: nothing that looks like a credential leaves the process unmasked.

Used on everything bound for a model (prompts, context, diagnostics), for logs, shell
history and error messages. Three layers, cheapest first:

1. exact values we know are secret (the configured token, registered before the first
   request is built);
2. our own rules: provider token formats, private key blocks, URL and connection-string
   passwords, `.netrc`/`.pgpass` lines, values named like secrets whatever their length
   (`patterns`, `assignments`), passwords passed as program flags (`command_flags`);
3. Yelp's detect-secrets regex detectors on the few lines that could hold a token
   (`detector`).

Every credential becomes the same placeholder, `[REDACTED]`, which the model can copy
back: the rules are line-local (key blocks apart), so `redact(line)` of an original line
is what the model saw and edits can be mapped back to the user's real line
(`aurelis.lsp.postprocess.restore_secrets`). Lines are cached, so re-redacting a buffer
while the user types costs a dictionary lookup per unchanged line.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable

from aurelis.core.secrets.assignments import mask_named_secrets
from aurelis.core.secrets.command_flags import mask_command_flags
from aurelis.core.secrets.detector import mask_detected
from aurelis.core.secrets.patterns import (
    REDACTED,
    mask_connection_strings,
    mask_key_blocks,
    mask_netrc,
    mask_positional_aws_secret,
    mask_token_formats,
    mask_url_credentials,
)

__all__ = [
    "REDACTED",
    "redact",
    "redact_line",
    "register_secret",
    "known_secret_count",
    "mask_registered",
]

#: Shorter lines cannot hold any credential format we know.
_MIN_LINE = 8
#: Longer lines (minified code, data) are redacted but not cached.
_MAX_CACHED_LINE = 4096
_MIN_REGISTERED = 6

_known_secrets: tuple[str, ...] = ()
_registry_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember an exact secret (e.g. the configured token) so it is always masked."""
    global _known_secrets
    if not value or len(value) < _MIN_REGISTERED:
        return
    with _registry_lock:
        if value not in _known_secrets:
            # Longest first, so a secret that contains another is masked whole.
            _known_secrets = tuple(sorted({*_known_secrets, value}, key=len, reverse=True))


def known_secret_count() -> int:
    """How many exact secrets are registered (for diagnostics and tests)."""
    return len(_known_secrets)


def mask_registered(text: str) -> str:
    """`text` with the registered exact secrets masked (the first step of `redact`)."""
    return _mask_exact(text, _known_secrets)


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Return `text` with credentials replaced by [REDACTED]."""
    if not text:
        return text
    text = _mask_exact(text, (*_known_secrets, *extra_secrets))
    text = mask_key_blocks(text)
    if "\n" not in text:
        return redact_line(text)
    return "\n".join([redact_line(line) for line in text.split("\n")])


def _mask_exact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= _MIN_REGISTERED and secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_line(line: str, *, remember: bool = True) -> str:
    """One line through the format, name and detect-secrets rules (not the exact ones).
    `remember=False`: a line seen once (a repository being indexed) stays out of the line
    cache, which is for the prompts' lines that come back on every keystroke."""
    if len(line) < _MIN_LINE:
        return line
    if len(line) > _MAX_CACHED_LINE or not remember:
        return _redact_line(line)
    return _cached_line(line)


@functools.lru_cache(maxsize=32768)
def _cached_line(line: str) -> str:
    return _redact_line(line)


def _redact_line(line: str) -> str:
    line = mask_positional_aws_secret(line)  # first: it looks for an AWS key id nearby
    line = mask_token_formats(line)
    line = mask_url_credentials(line)
    line = mask_connection_strings(line)
    line = mask_netrc(line)
    line = mask_named_secrets(line)
    line = mask_command_flags(line)
    return mask_detected(line)
