"""How often redaction changes real code, and what it hides there.

    PYTHONPATH=server .venv/bin/python bench/redaction_false_positives.py [--samples 15]
        [--corpus server tests /root/.pyenv/versions/3.11.7/lib/python3.11]

Every `.py` file of each corpus goes through `aurelis.core.secrets.redaction.redact` the way
context does (whole file). A line that comes back changed is a redaction; the report
gives redactions per 10,000 lines per corpus, which rule fired, and sample lines, so
what is hidden can be judged by eye: in code with no credentials every redaction is a
false positive that mangles what the model sees and what an edit has to restore. It also
checks that each changed line round-trips: `redact(line)` alone equals the line in the
redacted file (what `restore_secrets` relies on to put the user's line back).

Also reports the cost: microseconds per line, cold (cache cleared) and warm.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from aurelis.core.secrets import detector as secret_detector
from aurelis.core.secrets import redaction
from aurelis.core.secrets.assignments import mask_named_secrets
from aurelis.core.secrets.patterns import (
    REDACTED,
    mask_connection_strings,
    mask_netrc,
    mask_positional_aws_secret,
    mask_token_formats,
    mask_url_credentials,
)

DEFAULT_CORPORA = ["server", "tests", f"{sys.base_prefix}/lib/python3.11"]
RULES: dict[str, Callable[[str], str]] = {
    "token format": mask_token_formats,
    "url credentials": mask_url_credentials,
    "connection string": mask_connection_strings,
    "netrc/pgpass": mask_netrc,
    "named secret": mask_named_secrets,
    "positional aws secret": mask_positional_aws_secret,
    "detect-secrets": secret_detector.mask_detected,
}
_SKIP_PARTS = {"site-packages", "__pycache__", ".venv"}


def python_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*.py")
        if not _SKIP_PARTS.intersection(path.parts) and path.is_file()
    )


def rule_for(line: str) -> str:
    for name, rule in RULES.items():
        if rule(line) != line:
            return name
    return "key block"


def scan(root: Path) -> tuple[int, list[tuple[str, str, str]], int]:
    """(lines, [(path:line, rule, text)] for each changed line, round-trip failures)."""
    lines_seen = 0
    changed: list[tuple[str, str, str]] = []
    broken = 0
    for path in python_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        original = text.split("\n")
        lines_seen += len(original)
        masked = redaction.redact(text).split("\n")
        if len(masked) != len(original):  # a key block collapsed: report it whole
            changed.append((str(path), "key block", "(multi-line block)"))
            continue
        for number, (before, after) in enumerate(zip(original, masked, strict=True), start=1):
            if before != after:
                changed.append((f"{path}:{number}", rule_for(before), before.strip()[:140]))
                if redaction.redact(before) != after:
                    broken += 1
    return lines_seen, changed, broken


def timing(roots: list[Path]) -> tuple[float, float, int]:
    """(cold µs/line, warm µs/line, lines) over every file of the corpora."""
    texts = [
        path.read_text(encoding="utf-8", errors="replace")
        for root in roots
        for path in python_files(root)
    ]
    lines = sum(text.count("\n") + 1 for text in texts)
    redaction._cached_line.cache_clear()
    started = time.perf_counter()
    for text in texts:
        redaction.redact(text)
    cold = (time.perf_counter() - started) / lines * 1e6
    sample = texts[:40]  # small enough to stay in the line cache: redacted once, then timed
    for text in sample:
        redaction.redact(text)
    started = time.perf_counter()
    for text in sample:
        redaction.redact(text)
    warm_lines = sum(text.count("\n") + 1 for text in sample)
    warm = (time.perf_counter() - started) / warm_lines * 1e6
    return cold, warm, lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", nargs="*", default=DEFAULT_CORPORA)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    print(f"detect-secrets loaded: {secret_detector.detector_available()}")
    roots = [Path(corpus) for corpus in args.corpus]
    for root in roots:
        lines, changed, broken = scan(root)
        rate = len(changed) / max(lines, 1) * 10_000
        print(f"\n{root}: {lines:,} lines, {len(changed)} redacted lines = {rate:.2f} per 10k")
        print(f"  round-trip failures (line redacts differently alone): {broken}")
        for rule, count in Counter(rule for _, rule, _ in changed).most_common():
            print(f"  {rule}: {count}")
        random.seed(0)
        for where, rule, text in random.sample(changed, min(args.samples, len(changed))):
            print(f"    [{rule}] {Path(where).name}: {text}")
    cold, warm, lines = timing(roots)
    print(f"\ncost over {lines:,} lines: cold {cold:.2f} µs/line, warm (cached) {warm:.2f} µs/line")
    print(f"(placeholder: {REDACTED})")


if __name__ == "__main__":
    main()
