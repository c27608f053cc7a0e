"""Secrets in text and files: the one face the rest of Aurelis imports.

Everything bound for a model, a log, a cache or an error message goes through `redact`;
files that are secrets by nature (`.env`, keys, credentials) are recognised by name with
`is_secret_file` and never read for a model. The rules behind them are private modules:
`patterns` (token formats, key blocks, URL and connection-string passwords, .netrc),
`assignments` (values named like secrets, whatever their length), `command_flags`
(passwords passed as program flags), `detector` (detect-secrets' regex plugins),
`files` (secret file names) and `redaction` (the layers in order, with a line cache).
"""

from __future__ import annotations

from aurelis.core.secrets.detector import detector_available
from aurelis.core.secrets.files import is_secret_file, secret_file_refusal
from aurelis.core.secrets.redaction import (
    REDACTED,
    known_secret_count,
    mask_registered,
    redact,
    redact_line,
    register_secret,
)

__all__ = [
    "REDACTED",
    "detector_available",
    "is_secret_file",
    "known_secret_count",
    "mask_registered",
    "redact",
    "redact_line",
    "register_secret",
    "secret_file_refusal",
]
