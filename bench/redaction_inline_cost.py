"""What redaction costs one inline completion, on real code and on code full of secrets.

    PYTHONPATH=server:. .venv/bin/python bench/redaction_inline_cost.py [--requests 300]

`bench/lsp_inline_latency.py` measures the whole in-server time of an inline completion,
but on a generated file with no credential-like line, where redaction is nearly free.
This one isolates redaction on the inline path the way the server runs it: for each
request at a new line of a 2,000-line file, the prefix window (~3.6 KB, the inline
budget's 60%) and the suffix window (~1.2 KB) are redacted, then the prompt built from
them is redacted again (the orchestrator's prompt builder does that). Reported per
request, p50/p99, for:

- warm: the line cache persists between requests, as in the server;
- cold: the cache is cleared before every request (a file never seen, worst case);

on the first 2,000 lines of the stdlib's argparse.py, and on the same lines with one of
the test corpus's fake credentials planted every 20 lines (so detect-secrets and every
rule run on hundreds of lines).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from aurelis.core.secrets import redaction
from aurelis.core.secrets.detector import detector_available

PREFIX_CHARS = 3600
SUFFIX_CHARS = 1200


def real_code() -> str:
    source = Path(sys.base_prefix) / "lib/python3.11/argparse.py"
    return "\n".join(source.read_text(encoding="utf-8").split("\n")[:2000])


def code_with_secrets() -> str:
    from tests.security.corpus import planted_secrets

    lines = real_code().split("\n")
    planted = [p.snippet for p in planted_secrets()]
    out: list[str] = []
    for index, line in enumerate(lines):
        out.append(line)
        if index % 20 == 10:
            out.append(planted[(index // 20) % len(planted)])
    return "\n".join(out[:2000])


def one_request(text: str, offset: int) -> float:
    started = time.perf_counter()
    prefix = redaction.redact(text[max(0, offset - PREFIX_CHARS) : offset])
    suffix = redaction.redact(text[offset : offset + SUFFIX_CHARS])
    redaction.redact(f"Complete the code at <|CURSOR|>:\n{prefix}<|CURSOR|>{suffix}")
    return (time.perf_counter() - started) * 1000


def run(text: str, requests: int, cold: bool) -> list[float]:
    line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
    redaction._cached_line.cache_clear()
    times = []
    for index in range(requests):
        line = 50 + (index * 6) % (len(line_starts) - 100)
        if cold:
            redaction._cached_line.cache_clear()
        times.append(one_request(text, line_starts[line + 1] - 1))
    return times


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    assert detector_available(), "detect-secrets is not installed"  # imports it: untimed
    redaction.redact("warm up: password = 'x1y2z3w4'")  # compiles the rules
    for label, text in (
        ("argparse.py", real_code()),
        ("argparse.py + secrets", code_with_secrets()),
    ):
        for cold in (False, True):
            times = run(text, args.requests, cold)
            print(
                f"{label:24} {'cold' if cold else 'warm'}: redaction per inline request "
                f"p50 {statistics.median(times):.3f} ms, p99 {percentile(times, 0.99):.3f} ms, "
                f"max {max(times):.3f} ms (n={len(times)})"
            )


if __name__ == "__main__":
    main()
