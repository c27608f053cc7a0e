"""`aurelis usage`: tokens used today against the daily budgets (`budgets`), and what
became of inline suggestions (shown, accepted, retained, latency; `suggestions_view`).

With `redis_url` set the counts are the team's (every process on the same endpoint and
token, counted in Redis); without it each process counts only its own requests, so a
fresh command line has nothing to show and says so. Suggestion counts are kept on disk
(and in Redis for a team), so they are there whichever process counted them.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from aurelis.cli import runtime
from aurelis.cli.errors import error_boundary
from aurelis.cli.render import print_json
from aurelis.cli.suggestions_view import suggestion_json, suggestion_tables
from aurelis.models.shared.budgets import BudgetUsage
from aurelis.models.shared.usage import usage_today
from aurelis.models.suggestions.report import read_outcomes

__all__ = ["usage_command", "usage_rows"]


def usage_rows(usage: list[BudgetUsage]) -> list[dict[str, Any]]:
    """The JSON shape of `aurelis usage --json`: one dict per budget name."""
    return [
        {
            "name": row.name,
            "used": row.used,
            "limit": row.limit,
            "left": None if row.limit is None else max(0, row.limit - row.used),
            "exhausted": row.exhausted,
            "resets_in": round(row.resets_in),
            "shared": row.shared,
        }
        for row in usage
    ]


def _table(rows: list[dict[str, Any]], where: str | None) -> Table:
    table = Table(title="Aurelis token use today (UTC)", title_justify="left", expand=False)
    for name, justify in (("budget", "left"), ("used", "right"), ("limit", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("left", justify="right", no_wrap=True)
    for row in rows:
        limit, left = row["limit"], row["left"]
        table.add_row(
            row["name"],
            f"{row['used']:,}",
            "-" if limit is None else f"{limit:,}",
            "-" if left is None else ("used up" if row["exhausted"] else f"{left:,}"),
        )
    hours, minutes = divmod(round((rows[0]["resets_in"] if rows else 0) / 60), 60)
    shared = f"shared through {where}" if where else "this process only (no redis_url set)"
    table.caption = f"{shared}; resets at 00:00 UTC, in {hours}h {minutes:02d}m"
    return table


def usage_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
    suggestions: Annotated[
        bool, typer.Option("--suggestions", help="Only the inline suggestions view.")
    ] = False,
) -> None:
    """Tokens used today against the budgets, and inline suggestion outcomes per model."""
    with error_boundary(debug=runtime.STATE.debug):
        settings = runtime.config()
        outcomes = runtime.run_async(lambda: read_outcomes(settings))
        if suggestions:
            if json_output:
                print_json({"suggestions": suggestion_json(outcomes)})
            else:
                for table in suggestion_tables(outcomes):
                    runtime.table_console().print(table)
            return
        report = runtime.run_async(lambda: usage_today(settings))
        rows = usage_rows(report.rows)
        if json_output:
            print_json(
                {
                    "shared_through": report.shared_through,
                    "budgets": rows,
                    "suggestions": suggestion_json(outcomes),
                }
            )
            return
        console = runtime.table_console()
        console.print(_table(rows, report.shared_through))
        for table in suggestion_tables(outcomes):
            console.print(table)
