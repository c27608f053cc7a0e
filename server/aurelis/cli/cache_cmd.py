"""`aurelis cache stats|clear`: the orchestrator's response cache.

In a one-shot process the in-memory cache starts empty; these commands matter for the
persistent cache (`persistent_cache = true`, stored under `cache_dir`), which is what
`cache_stats()` and `clear_cache()` report on and empty.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from aurelis.cli import runtime
from aurelis.cli.errors import error_boundary
from aurelis.cli.render import print_json

__all__ = ["cache_app", "cache_stats", "cache_clear"]

cache_app = typer.Typer(help="Inspect or empty the response cache.", no_args_is_help=True)


async def _stats() -> dict[str, Any]:
    return runtime.orchestrator().cache_stats()


async def _clear() -> int:
    orchestrator = runtime.orchestrator()
    return orchestrator.clear_cache() + await orchestrator.clear_shared_cache()


@cache_app.command("stats")
def cache_stats(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Show the cache's size, hits, misses and location."""
    with error_boundary(debug=runtime.STATE.debug):
        runtime.config()
        stats = runtime.run_async(_stats)
        if json_output:
            print_json(stats)
            return
        table = Table(title="Response cache", title_justify="left", show_header=False)
        table.add_column("statistic")
        table.add_column("value", overflow="fold")
        for key, value in stats.items():
            table.add_row(str(key).replace("_", " "), _cell(value))
        runtime.table_console().print(table)


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every cached answer (memory, disk and, with `redis_url`, the shared tier)."""
    with error_boundary(debug=runtime.STATE.debug):
        runtime.config()
        count = runtime.run_async(_clear)
        print(f"cleared {count} cached {'entry' if count == 1 else 'entries'}")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return "-" if value is None else str(value)
