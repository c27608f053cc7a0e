"""The counters kept for suggestions, and how they add up into the rows people read.

A tally is a flat `{field: count}` map, the shape both stores hold (one JSON line in a
file, one Redis hash field): adding two tallies is adding counts, so processes and days
merge without coordination. A field is `model|task|language|dialect|counter`. Latency is
kept as counts per bucket, which merge the same way; percentiles are read off the buckets
(the bucket's upper bound, as Prometheus's histogram_quantile would bound them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "COUNTERS",
    "LATENCY_BUCKETS_MS",
    "OutcomeKey",
    "SuggestionRow",
    "Tally",
    "add_tally",
    "latency_counter",
    "merged",
    "summarise",
]

Tally = dict[str, int]

#: Upper bounds (ms) of the latency buckets; the last one catches everything slower.
LATENCY_BUCKETS_MS = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000)
_OVERFLOW_MS = 60_000

#: Every counter besides the latency buckets.
COUNTERS = (
    "offered",  # items the server returned
    "shown",  # items the editor reported on screen (implied by an accept)
    "accepted",  # items accepted whole
    "partially_accepted",  # partial accepts (a word, a line)
    "accepted_chars",  # characters taken into the document, partial accepts included
    "checked_chars_early",  # accepted characters measured at the early check
    "retained_chars_early",  # ...of which were still there
    "checked_chars_final",  # accepted characters measured at the final check
    "retained_chars_final",
)
_SAFE_LABEL = re.compile(r"[^a-z0-9_.+#-]")
_LABEL_LENGTH = 32


@dataclass(frozen=True)
class OutcomeKey:
    """What a suggestion's counts are kept under."""

    model: str
    task: str
    language: str
    dialect: str  # "chat", "fim" (fill-in-the-middle) or "completion" (a base model)

    def labels(self) -> dict[str, str]:
        """The key as metric labels (the language id sanitised as in the stores)."""
        language = _label(self.language)
        return {
            "model": self.model,
            "task": self.task,
            "language": language,
            "dialect": self.dialect,
        }

    def field(self, counter: str) -> str:
        parts = (self.model, self.task, _label(self.language), self.dialect, counter)
        return "|".join(parts)


def _label(value: str) -> str:
    """A client-supplied language id as a safe, bounded label (it ends up in Redis keys
    and metric labels; a hostile client must not be able to grow either)."""
    cleaned = _SAFE_LABEL.sub("_", value.lower())[:_LABEL_LENGTH]
    return cleaned or "plaintext"


def latency_counter(seconds: float) -> str:
    """The bucket counter a latency falls in."""
    milliseconds = seconds * 1000
    for bound in LATENCY_BUCKETS_MS:
        if milliseconds <= bound:
            return f"latency_le_{bound}"
    return f"latency_le_{_OVERFLOW_MS}"


def add_tally(total: Tally, more: Mapping[str, int]) -> None:
    for name, count in more.items():
        total[name] = total.get(name, 0) + count


@dataclass(frozen=True)
class SuggestionRow:
    """One line of `aurelis usage`'s suggestions view."""

    model: str
    language: str
    offered: int
    shown: int
    accepted: int
    partially_accepted: int
    accepted_chars: int
    retained_chars: int
    retained_chars_early: int
    checked_chars: int
    latency_p50_ms: int | None
    latency_p95_ms: int | None

    @property
    def acceptance_rate(self) -> float | None:
        return round(self.accepted / self.shown, 4) if self.shown else None

    @property
    def retention_rate(self) -> float | None:
        """Share of the accepted characters measured at the final check still there."""
        return round(self.retained_chars / self.checked_chars, 4) if self.checked_chars else None

    def as_json(self) -> dict[str, object]:
        return {
            "model": self.model,
            "language": self.language,
            "offered": self.offered,
            "shown": self.shown,
            "accepted": self.accepted,
            "partially_accepted": self.partially_accepted,
            "acceptance_rate": self.acceptance_rate,
            "accepted_chars": self.accepted_chars,
            "retained_chars": self.retained_chars,
            "retained_chars_early": self.retained_chars_early,
            "retention_rate": self.retention_rate,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
        }


def summarise(tally: Mapping[str, int], *, by_language: bool = True) -> list[SuggestionRow]:
    """Rows per model (and language), busiest first."""
    groups: dict[tuple[str, str], Tally] = {}
    for name, count in tally.items():
        parts = name.split("|")
        if len(parts) != 5 or count <= 0:
            continue  # a field of another layout (or damaged): not ours to read
        model, _task, language, _dialect, counter = parts
        group = groups.setdefault((model, language if by_language else "*"), {})
        group[counter] = group.get(counter, 0) + count
    rows = [_row(model, language, counts) for (model, language), counts in groups.items()]
    return sorted(rows, key=lambda row: (-row.shown, -row.offered, row.model, row.language))


def _row(model: str, language: str, counts: Mapping[str, int]) -> SuggestionRow:
    return SuggestionRow(
        model=model,
        language=language,
        offered=counts.get("offered", 0),
        shown=counts.get("shown", 0),
        accepted=counts.get("accepted", 0),
        partially_accepted=counts.get("partially_accepted", 0),
        accepted_chars=counts.get("accepted_chars", 0),
        retained_chars=counts.get("retained_chars_final", 0),
        retained_chars_early=counts.get("retained_chars_early", 0),
        checked_chars=counts.get("checked_chars_final", 0),
        latency_p50_ms=_percentile(counts, 0.50),
        latency_p95_ms=_percentile(counts, 0.95),
    )


def _percentile(counts: Mapping[str, int], fraction: float) -> int | None:
    buckets = [*LATENCY_BUCKETS_MS, _OVERFLOW_MS]
    sizes = [counts.get(f"latency_le_{bound}", 0) for bound in buckets]
    total = sum(sizes)
    if not total:
        return None
    wanted = fraction * total
    seen = 0
    for bound, size in zip(buckets, sizes, strict=True):
        seen += size
        if seen >= wanted:
            return bound
    return buckets[-1]


def merged(tallies: Iterable[Mapping[str, int]]) -> Tally:
    total: Tally = {}
    for tally in tallies:
        add_tally(total, tally)
    return total
