"""Passwords given on a command line: `mysql -p<pw>`, `curl -u user:<pw>`, `--password=<pw>`.

Shell scripts, Dockerfiles, CI files and READMEs pass credentials as program flags rather
than as assignments, so the name-based rule (`assignments`) never sees a name next to
them. Long flags say what they carry (`--db-password`, `--api-key`): their value is masked
whatever its length. Short flags are ambiguous (`mkdir -p`, `ssh -p 22`, `docker run -u
1000:1000`), so `-p` and `-u user:pass` count only after the programs that use them for a
password.
"""

from __future__ import annotations

import re

from aurelis.core.secrets.assignments import is_secret_name
from aurelis.core.secrets.patterns import REDACTED, is_placeholder

__all__ = ["mask_command_flags"]

_VALUE = r"""(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"'`;|&<>]+)"""
# Long flags: the name decides (`--db-password` holds one, `--token-file` names a file).
_LONG_FLAG = re.compile(rf"(?<![\w-])--(?P<name>[A-Za-z][\w-]*)(?P<op>=|[ \t]+){_VALUE}")
# mysql, mysqldump, mariadb...: the password is glued to `-p` (`-p` alone prompts).
_MYSQL = re.compile(r"\b(?:mysql\w*|mariadb[\w-]*)\b")
_GLUED_P = re.compile(rf"(?<=\s)(?P<lead>-p){_VALUE}")
# sshpass -p <pw>, docker/podman/helm ... login -p <pw>
_SPACED_P_PROGRAMS = re.compile(r"\b(?:sshpass|login)\b")
_SPACED_P = re.compile(rf"(?<=\s)(?P<lead>-p[ \t]+){_VALUE}")
# `-u` or `--user` of curl and friends: user, colon, password (not two numbers: uid, gid).
_USER_PASS = re.compile(
    r"""(?P<lead>(?:(?<=\s)-[uU][ \t]*|--(?:proxy-)?user(?:=|[ \t]+))["']?(?P<user>[^\s:"']*):)"""
    r"""(?P<value>[^\s"'@`]+)"""
)
_CURL_LIKE = re.compile(r"\b(?:curl|wget|http|httpie|xh|lftp)\b")
# A long flag named in prose: "pass it with --password and ...", not a value.
_PROSE_WORDS = frozenset(
    {"and", "or", "to", "the", "a", "an", "is", "with", "flag", "option", "argument", "for",
     "in", "on", "of", "if", "when", "from", "as", "instead", "only", "value", "you", "your",
     "this", "that", "it", "not", "must", "can", "will", "are", "be", "by", "at"}
)  # fmt: skip
_FLAG_HINTS = ("--", "-p", "-u", "-U")


def mask_command_flags(line: str) -> str:
    if not any(hint in line for hint in _FLAG_HINTS):
        return line
    if "--" in line:
        line = _LONG_FLAG.sub(_mask_long_flag, line)
    if "-p" in line:
        if _MYSQL.search(line):
            line = _GLUED_P.sub(_mask_value, line)
        if _SPACED_P_PROGRAMS.search(line):
            line = _SPACED_P.sub(_mask_value, line)
    if _CURL_LIKE.search(line) or "-user" in line:
        line = _USER_PASS.sub(_mask_user_password, line)
    return line


def _mask_long_flag(match: re.Match[str]) -> str:
    name = match.group("name")
    # `--password-stdin` reads the secret from elsewhere: what follows is an argument.
    if name.lower().endswith("stdin") or not is_secret_name(name.replace("-", "_")):
        return match.group(0)
    value = match.group("value")
    if match.group("op") != "=" and (value.startswith("-") or value.lower() in _PROSE_WORDS):
        return match.group(0)  # the next flag, or prose about the flag
    return _mask_value(match)


def _mask_value(match: re.Match[str]) -> str:
    value = match.group("value")
    inner = value[1:-1] if value[:1] in "\"'" and len(value) > 1 else value
    if not inner.strip() or is_placeholder(inner) or inner.startswith(REDACTED):
        return match.group(0)
    quote = value[0] if inner is not value else ""
    head = match.group(0)[: match.start("value") - match.start()]
    return f"{head}{quote}{REDACTED}{quote}"


def _mask_user_password(match: re.Match[str]) -> str:
    user = match.group("user")
    value = match.group("value")
    if user.isdigit() and value.isdigit():
        return match.group(0)  # docker run -u 1000:1000
    return _mask_value(match)
