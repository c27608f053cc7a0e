"""Redaction of the text the index keeps, paying for the lines that could hold a secret.

`redact` runs every line through all its rules; on a whole repository that is most of the
build's time, although nearly every line of code is plainly not a credential. Here a
cheap scan over the whole text (three regular expressions, run in C) picks the lines that
could trip a rule, and only those go through `redact_line`. The scan is a necessary
condition of each rule, so the result is what `redact` gives, line for line:

- a word one of the rules looks for (lower case): secret-like names (`pass`, `pw`,
  `secret`, `token`, `key`, `cred`, `contrase`, which also cover connection strings,
  .netrc lines and long password flags), a URL (`://`), detect-secrets' provider words,
  and the prefixes of the token formats whose body may be letters alone (`ghp_`,
  `github_pat_`, `sk-`, `xox`, `eyJ`, `AKIA`, ...);
- any other token format holds 32 hex digits in a row or a digit inside a long run of
  token characters (so does every detect-secrets pattern): a long identifier
  (`normalize_invoice_rows`, `NotImplementedError`) does neither;
- a short `-p`/`-u` flag after a space or `--user` (command-line passwords) and the
  `:5432:` of a .pgpass line.

Exact secrets registered with `core.secrets` (the configured token) are masked in the
whole text first, as `redact` does; private key blocks (they span lines) are what the
scan cannot see, and text holding one goes through `redact` whole.
`tests/unit/index/test_masking.py` holds the token formats this was checked against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from aurelis.core.secrets import mask_registered, redact, redact_line

__all__ = ["redact_for_index"]

_WORDS = (
    "pass", "pw", "secret", "token", "key", "cred", "contrase", "://", "-user",
    "aws", "ibm", "cloudant", "softlayer",  # detect-secrets' own words
    "bearer", "basic", "sig=", "signature=", "sharedaccess", "_auth", "github_pat_", "sk-",
    "glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glimt-", "gloas-", "glcbt-", "glsoat-",
    "glagent-", "glffct-", "glc_", "glsa_", "aiza", "gocspx-", "ya29.", "xox", "eyj",
    "pypi-age", "sg.", "eaaa", "hvs.", "hvb.", "hvr.", "sntr", "hooks.slack.com", ":aa", "q~",
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "k_live_", "k_test_", "whsec_", "hf_",
    "api_org_", "npm_", "lin_api_", "nrak-", "dp.", "gsk_", "pplx-", "xai-",
    "akia", "asia", "abia", "acca", "a3t",
)  # fmt: skip
# Runs are found in the UTF-8 bytes, where a byte above 127 stands for any non-ASCII
# character (a letter or a digit for all this scan knows): a byte pattern runs several
# times faster than the same pattern on str.
_RUN = re.compile(rb"(?<![\w+/=~%\x80-\xff-])[\w+/=~%\x80-\xff-]{16,}")
_TOKEN_LIKE_RUN = re.compile(rb"[0-9\x80-\xff]|[0-9A-Fa-f]{32}")
_FLAGS = re.compile(r"-[puU]|:(?:\d{2,5}|\*):")
# What `redact` masks across lines needs one of these (key blocks, cut or whole, and PuTTY
# keys); a docstring's `----------` underline does not.
_MULTILINE_MARKERS = ("-----BEGIN", "-----END", "Private-Lines:")


def _alternation(words: Iterable[str]) -> str:
    """A pattern for any of `words`, factored by their leading characters: the regex
    engine then follows one branch at a position instead of trying every word."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in sorted(by_first.items()):
        if "" in rests:  # a word ends here: the longer ones contain it
            branches.append(re.escape(first))
        elif len(rests) == 1:
            branches.append(re.escape(first + rests[0]))
        else:
            branches.append(f"{re.escape(first)}(?:{_alternation(rests)})")
    return "|".join(branches)


_WORD = re.compile(_alternation(_WORDS))


def redact_for_index(text: str) -> str:
    """`redact(text)`, computed on the lines that could hold a secret alone."""
    if any(marker in text for marker in _MULTILINE_MARKERS):
        return redact(text)
    text = mask_registered(text)  # redact's first step: the exact values we know
    flagged = set(_lines_matching(_WORD, text.lower()))
    flagged.update(_lines_matching(_FLAGS, text))
    flagged.update(_lines_with_token_like_runs(text.encode("utf-8")))
    if not flagged:
        return text
    lines = text.split("\n")
    for number in flagged:
        # Not cached: a repository's lines fill the prompts' line cache for nothing (about
        # 10 MB on 8,000 files) and push out the lines typed against.
        lines[number] = redact_line(lines[number], remember=False)
    return "\n".join(lines)


def _lines_with_token_like_runs(data: bytes) -> Iterator[int]:
    line = position = 0
    for run in _RUN.finditer(data):
        if _TOKEN_LIKE_RUN.search(run.group()):
            line += data.count(b"\n", position, run.start())
            position = run.start()
            yield line


def _lines_matching(pattern: re.Pattern[str], text: str) -> Iterator[int]:
    """The numbers of the lines (split at "\\n") where `pattern` matches, once each."""
    line = position = 0
    while (match := pattern.search(text, position)) is not None:
        line += text.count("\n", position, match.start())
        yield line
        end = text.find("\n", match.start())
        if end < 0:
            return
        line += 1
        position = end + 1
