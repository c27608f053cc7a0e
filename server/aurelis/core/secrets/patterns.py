"""Credential formats recognised by their shape alone: provider tokens, key blocks, URLs.

Each rule here matches something no ordinary code contains (a `ghp_` prefix of the right
length, a `-----BEGIN ... PRIVATE KEY-----` armour, a password inside a URL), so they
apply everywhere without looking at names. Rules that need a variable name to tell a
secret from a string live in `assignments`.
"""

from __future__ import annotations

import re

__all__ = [
    "REDACTED",
    "TOKEN_FORMATS",
    "is_placeholder",
    "mask_key_blocks",
    "mask_token_formats",
    "mask_url_credentials",
    "mask_connection_strings",
    "mask_netrc",
    "mask_positional_aws_secret",
]

REDACTED = "[REDACTED]"

#: (provider, hints, pattern) for tokens whose shape gives them away. A pattern runs only
#: on lines whose lower-cased text holds one of its hints (one alternation of fifty
#: patterns costs ~70 µs a line; a few substring tests cost well under one). The whole
#: match is masked, except a leading `Bearer `/`AccountKey=`-style label.
TOKEN_FORMATS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "github classic/app",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        r"\bgh[pousr]_[A-Za-z0-9]{30,255}\b",
    ),
    ("github fine-grained", ("github_pat_",), r"\bgithub_pat_[A-Za-z0-9_]{22,255}"),
    (
        "gitlab",
        (
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glft-",
            "glimt-",
            "gloas-",
            "glcbt-",
            "glsoat-",
            "glagent-",
            "glffct-",
        ),
        r"\bgl(?:pat|dt|rt|ptt|ft|imt|oas|cbt|soat|agent|ffct)-[A-Za-z0-9_\-]{20,}",
    ),  # fmt: skip
    ("gitlab runner", ("gr1348941",), r"\bGR1348941[A-Za-z0-9_\-]{20,}"),
    ("anthropic", ("sk-ant-",), r"\bsk-ant-(?:api|admin|oat)\d\d-[A-Za-z0-9_\-]{20,}"),
    ("openai", ("sk-",), r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"),
    (
        "aws access key id",
        ("akia", "asia", "abia", "acca", "a3t"),
        r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
    ),
    ("google api key", ("aiza",), r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("google oauth secret", ("gocspx-",), r"\bGOCSPX-[A-Za-z0-9_\-]{20,}"),
    ("google oauth token", ("ya29.",), r"\bya29\.[A-Za-z0-9_\-]{20,}"),
    ("slack token", ("xox",), r"\bxox[abposrce]-[A-Za-z0-9-]{10,}"),
    ("slack app token", ("xapp-",), r"\bxapp-\d-[A-Za-z0-9-]{10,}"),
    (
        "slack webhook",
        ("hooks.slack.com",),
        r"\bhooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_\-]{20,}",
    ),
    ("stripe", ("_live_", "_test_"), r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("stripe webhook", ("whsec_",), r"\bwhsec_[A-Za-z0-9]{20,}"),
    ("hugging face", ("hf_", "api_org_"), r"\b(?:hf_|api_org_)[A-Za-z0-9]{30,}"),
    ("jwt", ("eyj",), r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ("npm", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi", ("pypi-age",), r"\bpypi-AgE[A-Za-z0-9_\-]{50,}"),
    ("sendgrid", ("sg.",), r"\bSG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{30,64}"),
    ("twilio api key", ("sk",), r"\bSK[0-9a-fA-F]{32}\b"),
    (
        "shopify",
        ("shpat_", "shpca_", "shppa_", "shpss_"),
        r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b",
    ),
    ("digitalocean", ("dop_v1_", "doo_v1_", "dor_v1_"), r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    ("mailgun", ("key-",), r"\bkey-[0-9a-zA-Z]{32}\b"),
    ("mailgun private key", ("-",), r"\b[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}\b"),
    ("mailchimp", ("-us",), r"\b[0-9a-f]{32}-us\d{1,2}\b"),
    ("square", ("sq0",), r"\b(?:sq0atp|sq0csp|sq0idp)-[0-9A-Za-z_\-]{22,}"),
    ("square access token", ("eaaa",), r"\bEAAA[A-Za-z0-9_\-]{60}\b"),
    ("telegram bot", (":aa",), r"\b\d{8,10}:AA[0-9A-Za-z_\-]{33}\b"),
    ("atlassian", ("atatt3",), r"\bATATT3[A-Za-z0-9_\-=]{50,}"),
    ("databricks", ("dapi",), r"\bdapi[a-f0-9]{32}(?:-\d)?\b"),
    ("vault", ("hvs.", "hvb.", "hvr."), r"\bhv[sbr]\.[A-Za-z0-9_\-]{24,}"),
    (
        "grafana",
        ("glsa_", "glc_"),
        r"\b(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/=]{32,})",
    ),
    ("linear", ("lin_api_",), r"\blin_api_[A-Za-z0-9]{40}\b"),
    ("postman", ("pmak-",), r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b"),
    ("new relic", ("nrak-",), r"\bNRAK-[A-Z0-9]{27}\b"),
    ("doppler", ("dp.",), r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    ("sentry", ("sntr",), r"\bsntr[ysu]s?_[A-Za-z0-9+/=_]{30,}"),
    ("groq", ("gsk_",), r"\bgsk_[A-Za-z0-9]{40,}"),
    ("replicate", ("r8_",), r"\br8_[A-Za-z0-9]{37}\b"),
    ("perplexity", ("pplx-",), r"\bpplx-[A-Za-z0-9]{40,}"),
    ("xai", ("xai-",), r"\bxai-[A-Za-z0-9]{60,}"),
    ("age secret key", ("age-secret-key-1",), r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"),
    (
        "azure ad client secret",
        ("q~",),
        r"(?<![\w~.])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}",
    ),
    (
        "authorization header",
        ("bearer", "token"),
        r"\b(?i:bearer|token)\s+[A-Za-z0-9._~+/-]{20,}=*",
    ),
    ("basic auth header", ("basic",), r"\b(?i:basic)\s+[A-Za-z0-9+/]{16,}={0,2}(?![\w])"),
    (
        "labelled key",
        (
            "accountkey",
            "sharedaccess",
            "_auth",
            "_password",
            "api-key",
            "apikey=",
            "access_token=",
            "refresh_token=",
            "client_secret=",
        ),
        r"\b(?i:AccountKey|SharedAccessKey|SharedAccessSignature|_authToken|_auth"
        r"|_password|x-api-key|api-key|apikey|access_token|refresh_token|client_secret)"
        r"=[^;&\s\"'<>]{8,}",
    ),  # fmt: skip
    (
        "signed url signature",
        ("sig=", "signature="),
        r"[?&](?:sig|X-Amz-Signature|X-Goog-Signature)=[A-Za-z0-9%+/=]{16,}",
    ),
)
_FORMATS = tuple((hints, re.compile(pattern)) for _, hints, pattern in TOKEN_FORMATS)
# Prefilter: every token format above holds a run of 16+ characters without a dot or a
# colon, which most lines of code do not (`self.parser.add_argument` is broken up by
# dots). The lookbehind starts a try only at the start of a run: linear time.
_TOKEN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9_\-+/=~%])[A-Za-z0-9_\-+/=~%]{16,}")
_LABEL = re.compile(
    r"(?i)^(?:(?:bearer|token|basic)\s+|[?&]?[A-Za-z_-]+=)",
)


def mask_token_formats(line: str) -> str:
    if not _TOKEN_CANDIDATE.search(line):
        return line
    lowered = line.lower()
    for hints, pattern in _FORMATS:
        if any(hint in lowered for hint in hints):
            line = pattern.sub(_mask_after_label, line)
            lowered = line.lower()
    return line


def _mask_after_label(match: re.Match[str]) -> str:
    text = match.group(0)
    label = _LABEL.match(text)
    if label and label.end() < len(text):
        return text[: label.end()] + REDACTED
    return REDACTED


# --- key blocks (span lines) -------------------------------------------------------------
_KEY_KIND = r"[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?"
# A real block: the BEGIN line is followed (after a newline, real or escaped) by key data
# or an armour header; a string holding just the header line (PEM parsers) is not one.
_KEY_BODY_FOLLOWS = (
    r"(?=[ \t]*(?:\r?\n|\\r?\\n)[ \t]*(?:[A-Za-z0-9+/=]{4,}[ \t]*(?:\r?\n|\\r?\\n|$)"
    r"|(?:Proc-Type|DEK-Info|Version|Comment|Hash|Charset):))"
)
_KEY_BLOCK = re.compile(
    rf"-----BEGIN {_KEY_KIND}-----(?:[^\n]*?-----END {_KEY_KIND}-----"
    rf"|{_KEY_BODY_FOLLOWS}[\s\S]*?(?:-----END {_KEY_KIND}-----|\Z))"
)
# The tail of a block whose BEGIN line fell outside this text (a window cut mid-key):
# the key-data lines right before the END line.
_ORPHAN_END = re.compile(
    rf"(?:^[ \t]*=?[A-Za-z0-9+/=]{{4,}}[ \t]*\r?\n)+[ \t]*-----END {_KEY_KIND}-----", re.M
)
_PUTTY_PRIVATE = re.compile(r"Private-Lines:\s*\d+\n[\s\S]*?(?:Private-MAC:[^\n]*|\Z)")


def mask_key_blocks(text: str) -> str:
    """PEM/PGP/OpenSSH/PuTTY private keys, whole blocks, even when cut at either end."""
    if "-----" in text:
        text = _KEY_BLOCK.sub(REDACTED, text)
        if "-----END" in text:
            text = _ORPHAN_END.sub(REDACTED, text)
    if "Private-Lines:" in text:
        text = _PUTTY_PRIVATE.sub(REDACTED, text)
    return text


# --- URLs ---------------------------------------------------------------------------------
# scheme://user:password@host — the password may itself hold `@` or `:` (the last `@`
# before the path ends it), the user may be empty (`redis://:pw@host`).
_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^\s/?#\"'<>:@]*):(?P<password>[^\s/?#\"'<>]+)"
    r"@(?P<host>[^\s/?#\"'<>@]+)",
    re.I,
)
# scheme://TOKEN@host (git over https with a token as the user name).
_URL_TOKEN_USER = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<token>[A-Za-z0-9_\-.]{20,})@(?=[^\s/?#\"'<>@]+)",
    re.I,
)
_PLACEHOLDER = re.compile(
    r"""(?xi)^(?:
        \{\{?\s*[\w.\[\]'"()-]*\s*\}\}?      # {password}, {{ password }}, {cfg['pw']}
      | \$\{?[\w.:-]*\}?                     # $PW, ${PW}, ${PW:-default}
      | %\(?\w*\)?[sdr]                       # %s, %(password)s
      | <[^<>]*>                              # <password>, <your-token>
      | \*+ | x{3,} | \.{3} | …                 # masks people type by hand
      | \[REDACTED\].*
      | (?:your[_-]?|my[_-]?)?(?:password|passwd|pass|pwd|pw|secret|token|api[_-]?key|key)s?
    )$"""
)


def is_placeholder(value: str) -> bool:
    """A format field, a variable reference or an example mask, not a credential."""
    return bool(_PLACEHOLDER.match(value))


def mask_url_credentials(line: str) -> str:
    if "://" not in line or "@" not in line:
        return line
    line = _URL_CREDENTIALS.sub(_mask_url_password, line)
    return _URL_TOKEN_USER.sub(_mask_url_token, line)


def _mask_url_password(match: re.Match[str]) -> str:
    if is_placeholder(match.group("password")):
        return match.group(0)  # a format string (`{user}:{password}@`), not a credential
    # The user name goes too: with the host it says whose account this is.
    return f"{match.group('scheme')}{REDACTED}@{match.group('host')}"


def _mask_url_token(match: re.Match[str]) -> str:
    token = match.group("token")
    if not any(char.isdigit() for char in token):
        return match.group(0)  # a long user name, not a token
    return f"{match.group('scheme')}{REDACTED}@"


# --- connection strings, .netrc, .pgpass ---------------------------------------------------
# ODBC/ADO.NET/JDBC style: `Server=x;Uid=u;Pwd={p;w d};` — the value runs to the next `;`
# (or the closing brace), spaces included.
_CONNECTION_PASSWORD = re.compile(
    r"(?i)(?P<name>(?<![\w])(?:pwd|password|passwd|user\s+password)\s*=\s*)"
    r"(?P<value>\{[^}\n]*\}|[^;\"'\n]+)"
)
# `machine HOST ... password PW` anywhere (a linter may quote it after "line 3: "), or a
# line starting with `default`.
_NETRC = re.compile(
    r"(?i)(?P<lead>(?:\bmachine\s+\S+|^\s*default)\s.*?\b(?:password|passwd|account)\s+)"
    r"(?P<value>\S+)"
)
_NETRC_ALONE = re.compile(r"(?i)^(?P<lead>\s*(?:password|passwd)\s+)(?P<value>\S+)\s*$")
# host:port:database:user:password (.pgpass), also when quoted inside a message. Host,
# database and user need a letter, which MAC addresses (`52:54:00:9d:0e:67`) lack.
_PGPASS = re.compile(
    r"(?P<lead>(?:^|(?<=\s))(?=[^:\s]*[A-Za-z.*])[A-Za-z0-9_.*-]+:(?:\d{2,5}|\*):"
    r"(?=[^:\s]*[A-Za-z*])[A-Za-z0-9_.*-]+:(?=[^:\s]*[A-Za-z*])[A-Za-z0-9_.*@-]+:)"
    r"(?P<value>[^\s\"']+)"
)


def mask_connection_strings(line: str) -> str:
    if ";" not in line or "=" not in line:
        return line
    return _CONNECTION_PASSWORD.sub(_mask_value, line)


def mask_netrc(line: str) -> str:
    lowered = line.lower()
    if "password" in lowered or "passwd" in lowered:
        line = _NETRC.sub(_mask_value, line)
        line = _NETRC_ALONE.sub(_mask_lone_password, line)
    if line.count(":") >= 4:
        line = _PGPASS.sub(_mask_value, line)
    return line


def _mask_lone_password(match: re.Match[str]) -> str:
    """`password s3cr3t` alone on a line (.netrc), not `password combination.` (prose)."""
    value = match.group("value").rstrip(".,;:")
    if value.isalpha() and value.islower():
        return match.group(0)
    return _mask_value(match)


def _mask_value(match: re.Match[str]) -> str:
    lead = match.group("name") if "name" in match.groupdict() else match.group("lead")
    value = match.group("value").strip()
    if not value or is_placeholder(value):
        return match.group(0)
    return f"{lead}{REDACTED}"


# --- an AWS secret access key with no name next to it ---------------------------------------
# 40 characters of base64 alphabet with upper, lower and digits, quoted: the shape of an
# AWS secret key passed positionally. Hex digests (git SHA-1s) lack the mixed case; base64
# test vectors of that exact length are told apart by needing `/`, `+` or AWS nearby.
_AWS_SECRET = re.compile(r"(?P<quote>[\"'])(?P<value>[A-Za-z0-9/+]{40})(?P=quote)")
_AWS_CONTEXT = re.compile(r"(?i)aws|boto|\bs3\b|AKIA|ASIA|secret|credential")


def mask_positional_aws_secret(line: str) -> str:
    if len(line) < 42:
        return line
    return _AWS_SECRET.sub(lambda match: _mask_aws_candidate(match, line), line)


def _mask_aws_candidate(match: re.Match[str], line: str) -> str:
    value = match.group("value")
    mixed = (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )
    if not mixed or not (("/" in value or "+" in value) or _AWS_CONTEXT.search(line)):
        return match.group(0)
    quote = match.group("quote")
    return f"{quote}{REDACTED}{quote}"
