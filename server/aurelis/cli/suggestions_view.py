"""The suggestions view of `aurelis usage` and the acceptance column of `aurelis models`:
what became of inline suggestions per model and language, today and over 7 days."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from aurelis.models.suggestions.counts import SuggestionRow
from aurelis.models.suggestions.report import SuggestionReport

__all__ = ["PERIODS", "suggestion_json", "suggestion_tables"]

PERIODS = (("today", "today (UTC)"), ("last_7_days", "last 7 days"))


def suggestion_json(report: SuggestionReport) -> dict[str, Any]:
    """The JSON shape: rows per model and language for each period, and where from."""
    return {
        "shared_through": report.shared_through,
        **{
            period: [row.as_json() for row in report.rows(_period(period))] for period, _ in PERIODS
        },
    }


def suggestion_tables(report: SuggestionReport) -> list[Table]:
    return [_table(report.rows(_period(period)), title) for period, title in PERIODS]


def _period(name: str) -> str:
    return "today" if name == "today" else "week"


def _table(rows: list[SuggestionRow], title: str) -> Table:
    table = Table(title=f"Inline suggestions, {title}", title_justify="left", expand=False)
    table.add_column("model", no_wrap=True)
    table.add_column("language", no_wrap=True)
    for name in ("shown", "accepted", "rate", "accepted chars", "retained", "p50", "p95"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.model,
            row.language,
            f"{row.shown:,}",
            f"{row.accepted:,}",
            _percent(row.acceptance_rate),
            f"{row.accepted_chars:,}",
            f"{row.retained_chars:,} ({_percent(row.retention_rate)})",
            _ms(row.latency_p50_ms),
            _ms(row.latency_p95_ms),
        )
    if not rows:
        table.caption = "no suggestions counted yet"
    return table


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _ms(value: int | None) -> str:
    # Latency is kept in buckets: the value is the bucket's upper bound.
    return "-" if value is None else f"≤{value:,} ms"
