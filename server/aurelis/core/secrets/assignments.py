"""Values named like secrets: `DB_PASS = "..."`, `pwd: ...`, `"client_secret": "..."`.

A string is only a credential because of the name it is given, so this rule looks at the
name first (split into words: `dbPassword` -> db, password) and then decides whether the
value is a literal worth hiding or code (`os.environ["PW"]`, `get_password()`, a format
field, an environment variable's name). The name is kept so the model still sees what the
code does; the value becomes the placeholder.
"""

from __future__ import annotations

import re

from aurelis.core.secrets.patterns import REDACTED, is_placeholder

__all__ = ["mask_named_secrets", "is_secret_name", "is_secret_literal"]

# One word of a name is enough: password, db_pass, pwd, passphrase, client_secret, token.
_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "passcode", "pw", "pword",
        "secret", "secrets", "token", "apikey", "credential", "credentials", "creds",
        "privatekey", "secretkey", "accesskey", "authkey", "clientkey", "signingkey",
        "encryptionkey", "masterkey", "sessionkey", "contraseña", "contrasena",
    }
)  # fmt: skip
# Two-word names that mean a key: api key, access key, private key, ...
_KEY_OWNERS = frozenset(
    {"api", "access", "private", "secret", "auth", "client", "signing", "encryption",
     "master", "session", "account", "service", "storage", "license", "subscription"}
)  # fmt: skip
# A name ending in one of these describes a secret (its type, name, length), it is not one.
_DESCRIPTIVE_ENDINGS = frozenset(
    {
        "type", "types", "name", "names", "url", "uri", "urls", "file", "path", "dir", "id",
        "ids", "env", "var", "variable", "field", "fields", "prefix", "suffix", "length", "len",
        "size", "count", "limit", "ttl", "expiry", "expires", "expiration", "endpoint",
        "header", "pattern", "regex", "re", "format", "kind", "label", "hint", "source",
        "help", "policy", "mode", "class", "cls", "attr", "prompt", "message", "msg", "text",
        "title", "description", "error", "errors", "required", "enabled", "valid",
        "placeholder", "template", "range", "start", "end", "offset", "pos", "line",
        "location", "scope", "scopes", "usage", "method",
        "provider", "algorithm", "algo", "hash", "version", "index", "key", "keys", "storage",
        "manager", "store", "cache", "reset", "changed", "change", "confirm", "confirmation",
        "strength", "rules", "chars", "encoding", "param", "params", "arg", "args",
        "option", "options", "setting", "settings", "column", "col", "table", "widget",
    }
)  # fmt: skip
_NAME_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

# name [annotation] op value; the name may be quoted or subscripted (`env["DB_PASS"] =`).
_ASSIGNMENT = re.compile(
    r"""(?x)
    (?P<name>(?<![\w$.\-])[$@]?[\w.\-]*?(?i:pass|pwd|pw|secret|token|key|cred|contrase)
        [\w.\-]*)
    (?P<close>["'`]?\]?)
    (?P<annotation>\s*:\s*[A-Za-z_][\w.\[\], |]*?(?=\s*=[^=]))?
    (?P<op>\s*(?::=|=>|===?|!==?|[:=])\s*)
    (?P<value>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`|[^\s"'`,;)}\]]+)
    """
)
# Keyword-free lines are the great majority: skip them before the real pattern runs
# (substring tests on the lowered line are several times faster than a regex here).
_KEYWORDS = ("pass", "pwd", "pw", "secret", "token", "key", "cred", "contrase")
# Unquoted code, not a value: identifiers, attribute chains, calls, subscripts, numbers.
_CODE = re.compile(r"^(?:[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*(?:[(\[].*)?|[-+]?\d[\d_.]*|[(\[{].*)$")
_PLAIN_WORD = re.compile(r"^[a-z_][a-z_]*(?:\.[A-Za-z_]\w*)*$")
_FORMAT_FIELD = re.compile(r"%[-+ #0]*\d*(?:\.\d+)?[sdrfx]|%\(\w+\)|\{\w*(?:[.:!][^{}]*)?\}")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*_[A-Z0-9_]+$")
# `token: str` is a typed field, not a YAML value.
_TYPE_NAMES = frozenset(
    {"str", "bytes", "int", "float", "bool", "any", "object", "secretstr", "secretbytes",
     "string", "number", "boolean", "optional", "list", "dict", "char", "text", "varchar"}
)  # fmt: skip
_NOT_SECRETS = frozenset(
    {"none", "null", "nil", "true", "false", "undefined", "yes", "no", "on", "off", "", "empty",
     "unused", "dummy", "placeholder", "example", "redacted", "unknown", "unset", "missing",
     "default", "disabled", "anonymous", "required", "optional"}
)  # fmt: skip
# `credentials: `core.secret_files`` in prose, `token = "config.api_token"`: a dotted
# name is code, not a credential.
_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
# A line that is just `NAME=value` / `name: value` (env files, YAML, INI): the value is
# the rest of the line, spaces included.
_WHOLE_LINE = re.compile(r"^\s*(?:export\s+|-\s+)?$")
# Marks, inside one substitution pass, a value that runs to the end of the line.
_WHOLE_LINE_VALUE = "\x00[REDACTED-REST]\x00"


def is_secret_name(name: str) -> bool:
    """Whether a variable/key name says its value is a credential."""
    words = [word.lower() for word in _NAME_WORDS.findall(name.rsplit(".", 1)[-1])]
    if not words or words[-1] in _DESCRIPTIVE_ENDINGS and len(words) > 1 and words[-1] != "key":
        return False
    if words[-1] == "pass":  # DB_PASS, user_pass; not `pass` alone, pass_fds, fds_to_pass
        return len(words) > 1 and words[-2] != "to"
    for index, word in enumerate(words):
        if word in _SECRET_WORDS:
            return not _described_after(words, index)
        if word == "key" and index > 0 and words[index - 1] in _KEY_OWNERS:
            return not _described_after(words, index)
    return False


def _described_after(words: list[str], index: int) -> bool:
    """`token_type`, `password_hint`: a descriptive word after the secret word."""
    return any(word in _DESCRIPTIVE_ENDINGS for word in words[index + 1 :])


def mask_named_secrets(line: str) -> str:
    lowered = line.lower()
    if not any(keyword in lowered for keyword in _KEYWORDS):
        return line
    masked = _ASSIGNMENT.sub(lambda match: _mask(match, line), line)
    if masked != line and _WHOLE_LINE_VALUE in masked:
        # `DB_PASS=correct horse battery` on a line of its own: the rest of the line
        # (spaces included, a trailing comment excepted) is the value.
        head, _, rest = masked.partition(_WHOLE_LINE_VALUE)
        comment = rest.find(" #")
        ending = "\r" if line.endswith("\r") and comment < 0 else ""  # CRLF files keep CR
        return head + REDACTED + (rest[comment:] if comment >= 0 else ending)
    return masked


def _mask(match: re.Match[str], line: str) -> str:
    name = match.group("name").strip("$@")
    # A comparison (`if token == "async":`) tests a value, it does not hold a credential.
    if match.group("op").strip() in ("==", "===", "!=", "!==") or not is_secret_name(name):
        return match.group(0)
    value = match.group("value")
    quote = value[0] if value[0] in "\"'`" else ""
    if quote:
        return _mask_quoted(match, value[1:-1], quote)
    return _mask_unquoted(match, value, line)


def _mask_quoted(match: re.Match[str], inner: str, quote: str) -> str:
    if not is_secret_literal(inner):
        return match.group(0)
    head = match.group(0)[: match.start("value") - match.start()]
    return f"{head}{quote}{REDACTED}{quote}"


def is_secret_literal(value: str) -> bool:
    """Whether a value given a secret's name is a literal credential (not a placeholder)."""
    stripped = value.strip()
    if len(stripped) < 4 or stripped.lower() in _NOT_SECRETS or is_placeholder(stripped):
        return False
    if _ENV_NAME.match(stripped) or _DOTTED_NAME.match(stripped):
        return False  # "GITHUB_TOKEN" names a variable, "config.token" an attribute
    if stripped.startswith(REDACTED[:-1]):
        return False  # already masked
    if _FORMAT_FIELD.search(stripped):
        return False  # a format string: "%s:%s", "{user}-{pw}"
    return True


def _mask_unquoted(match: re.Match[str], value: str, line: str) -> str:
    if not is_secret_literal(value) or any(char in value for char in "*<>"):
        # `*<>`: grammar in comments (`token = 1*tchar`), not a credential
        return match.group(0)
    if value.lower().rstrip("?") in _TYPE_NAMES:
        return match.group(0)
    if _CODE.match(value) and not _looks_generated(value, match, line):
        return match.group(0)
    head = match.group(0)[: match.start("value") - match.start()]
    if _WHOLE_LINE.match(line[: match.start()]) and "(" not in value:
        return head + _WHOLE_LINE_VALUE
    return head + REDACTED


def _looks_generated(value: str, match: re.Match[str], line: str) -> bool:
    """An unquoted word that is a credential rather than a variable: `pw: hunter22`."""
    if "(" in value or "[" in value or (_PLAIN_WORD.match(value) and "." in value):
        return False
    op = match.group("op").strip()
    env_style = op == "=" and match.group("op") == "=" and match.group("name").isupper()
    # `password: hunter2` alone on its line (YAML, INI); not `token: ModelServer,` (a
    # parameter's annotation), which has code after it.
    rest = line[match.end() :].split(" #", 1)[0].strip()
    config_style = op == ":" and _WHOLE_LINE.match(line[: match.start()]) is not None and not rest
    has_digit = any(char.isdigit() for char in value)
    return env_style or (config_style and not match.group("close")) or has_digit
