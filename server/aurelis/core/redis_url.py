"""Redis URLs: what is accepted, and how one is shown without its password.

A URL is the whole Redis credential (`redis://:password@host`, `redis://user:pw@host`,
`rediss://…` for TLS, `?password=` in the query), so it is never printed as given: every
log line, error, `aurelis doctor` row and `config show` value goes through `redact_url`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aurelis.core.exceptions import ConfigurationError

__all__ = ["SCHEMES", "redact_url", "check_url", "url_problem", "url_secrets"]

SCHEMES = ("redis", "rediss", "unix")
_MASK = "***"
#: Query parameters redis-py reads credentials from.
_SECRET_PARAMS = frozenset({"password", "username"})


def redact_url(url: str) -> str:
    """The URL with any user name and password masked (also in the query string)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return f"<unparsable {_scheme_of(url)} URL>"
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    if parts.username or parts.password:
        netloc = f"{_MASK}@{netloc}"
    query = urlencode(
        [(k, _MASK if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def url_secrets(url: str) -> list[str]:
    """The credential strings inside `url` (to mask them wherever they might surface)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = [value for value in (parts.password, parts.username) if value]
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS and v]
    return found


def url_problem(url: str) -> str | None:
    """What a usable Redis URL would have that `url` lacks (None: nothing, it is fine)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return str(error)
    if parts.scheme not in SCHEMES:
        return "a redis://, rediss:// or unix:// URL"
    if parts.scheme == "unix":
        return None if parts.path else "a socket path, e.g. unix:///run/redis/redis.sock"
    if not parts.hostname:
        return "a host, e.g. redis://localhost:6379/0"
    if port is not None and not 0 < port < 65536:
        return "a port between 1 and 65535"
    database = parts.path.strip("/")
    if database and not database.isdigit():
        return "a database number as the path, e.g. /0"
    return None


def check_url(url: str) -> str:
    """`url` if Aurelis can connect with it; a ConfigurationError (URL masked) if not."""
    problem = url_problem(url)
    if problem is not None:
        raise _bad(redact_url(url), problem)
    return url


def _bad(shown: str, expected: str) -> ConfigurationError:
    return ConfigurationError(
        f"invalid setting redis_url={shown}: expected {expected}",
        key="redis_url",
        hint="set AURELIS_REDIS_URL to e.g. redis://:PASSWORD@redis.internal:6379/0",
    )


def _scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme if sep and scheme.isalpha() and len(scheme) < 10 else "redis"
