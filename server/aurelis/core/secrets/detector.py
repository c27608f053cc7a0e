"""Yelp's detect-secrets as a second opinion on the lines our own rules left alone.

Only its single-line, regex-based detectors are used, called directly
(`plugin.analyze_string(line)`): no file scanning, no baseline, no global settings and
never its verification step (which calls provider APIs over the network). Its entropy
detectors are left out on purpose: they flag hashes, UUIDs and base64 test vectors,
which would mangle the code the model sees; so is its keyword detector, which knows no
names (`password_hint = "8 chars"` is not a credential) — `assignments` does that
job with names in mind. Importing it costs ~200 ms (it pulls in
`requests`), so it happens on the first line that needs it, not at start-up.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterator
from typing import Any

from aurelis.core.secrets.patterns import REDACTED, is_placeholder

__all__ = ["DETECTORS", "detect", "detector_available", "mask_detected"]

#: (module, class) of the detect-secrets plugins used.
DETECTORS: tuple[tuple[str, str], ...] = (
    ("aws", "AWSKeyDetector"),
    ("artifactory", "ArtifactoryDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("basic_auth", "BasicAuthDetector"),
    ("cloudant", "CloudantDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("ibm_cloud_iam", "IbmCloudIamDetector"),
    ("ibm_cos_hmac", "IbmCosHmacDetector"),
    ("jwt", "JwtTokenDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("npm", "NpmDetector"),
    ("openai", "OpenAIDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("sendgrid", "SendGridDetector"),
    ("slack", "SlackDetector"),
    ("softlayer", "SoftlayerDetector"),
    ("square_oauth", "SquareOAuthDetector"),
    ("stripe", "StripeDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("twilio", "TwilioKeyDetector"),
)
# Every detector above needs a URL, one of these words, or a long token-like run; the
# run must hold a digit, which long identifiers (`RawDescriptionHelpFormatter`) do not.
_KEYWORDS = ("://", "aws", "ibm", "cloudant", "softlayer", "accountkey")
_LONG_RUN_WITH_DIGIT = re.compile(r"(?<![\w+/=-])(?=[\w+/=-]{0,200}?\d)[\w+/=-]{20,}")
_MIN_SECRET = 6
_lock = threading.Lock()
_plugins: tuple[Any, ...] | None = None


def _load() -> tuple[Any, ...]:
    global _plugins
    with _lock:
        if _plugins is None:
            loaded = []
            for module, name in DETECTORS:
                try:
                    plugin_module = importlib.import_module(f"detect_secrets.plugins.{module}")
                    loaded.append(getattr(plugin_module, name)())
                except (ImportError, AttributeError):
                    continue  # not installed, or a release without this plugin
            _plugins = tuple(loaded)
    return _plugins


def detector_available() -> bool:
    """Whether detect-secrets could be loaded (our own rules apply either way)."""
    return bool(_plugins if _plugins is not None else _load())


def detect(line: str) -> Iterator[tuple[str, str]]:
    """(detector name, secret value) for what detect-secrets finds in `line`."""
    if not _is_candidate(line):
        return
    for plugin in _plugins if _plugins is not None else _load():
        try:
            for value in plugin.analyze_string(line):
                yield type(plugin).__name__, value
        except Exception:  # noqa: BLE001 - a detector bug must not stop redaction
            continue


def _is_candidate(line: str) -> bool:
    lowered = line.lower()
    return any(word in lowered for word in _KEYWORDS) or bool(_LONG_RUN_WITH_DIGIT.search(line))


def mask_detected(line: str) -> str:
    """`line` with every value detect-secrets reports replaced by the placeholder."""
    for _detector, secret in set(detect(line)):
        value = secret.strip()
        if len(value) < _MIN_SECRET or REDACTED in value or is_placeholder(value):
            continue
        line = line.replace(value, REDACTED)
    return line
