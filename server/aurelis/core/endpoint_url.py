"""Checking an endpoint URL when it is configured, not when the first request fails.

`http://`, `http://h:99999`, `http://[::1` or `http://user:pass@host` used to be accepted
and fail later as network or "malformed response" errors. A credential in the URL is
refused outright: it would be logged and cached with the URL; the token has its own
settings.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["checked_endpoint"]


def checked_endpoint(value: str) -> str:
    """`value` without a trailing slash, or ValueError saying what is wrong with it."""
    text = value.strip()
    if not text.startswith(("http://", "https://")):
        raise ValueError("an http:// or https:// URL")
    if any(char.isspace() or ord(char) < 32 for char in text):
        raise ValueError("a URL without spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError when out of range or not a number
    except ValueError as error:
        raise ValueError(f"a well-formed URL ({error})") from None
    if not parts.hostname:
        raise ValueError("a URL with a host name, e.g. https://example.com/v1")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a URL without user:password@ (set the token with AURELIS_TOKEN)")
    if port == 0:
        raise ValueError("a URL with a port between 1 and 65535")
    return text.rstrip("/")
