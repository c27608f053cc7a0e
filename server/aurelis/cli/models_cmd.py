"""`aurelis models`: every model with its provider, deployment, strengths, context window,
the tasks routed to it, and its health and remaining rate limit as the orchestrator sees them.

"Tasks routed here" is the effective route: where a request of that task goes now (offline,
every task goes to the local model); the JSON also keeps the configured route of each model
(`tasks_when_online`).

Each row also shows the acceptance of the inline suggestions the model made over the last
7 days (`aurelis usage --suggestions` has the details).

Health comes from `orchestrator.health()` (no network: it reports what recent requests
taught the circuit breakers and rate limiters); without it the column says "unknown".
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from aurelis.cli import runtime
from aurelis.cli.errors import error_boundary
from aurelis.cli.render import print_json
from aurelis.core.config import AurelisConfig
from aurelis.evaluation.results import load_results
from aurelis.models.breaker import BreakerState
from aurelis.models.catalog import CATALOG
from aurelis.models.routing import effective_route, resolve, route
from aurelis.models.shared.usage import UsageReport, shared_breakers, usage_today
from aurelis.models.suggestions.counts import SuggestionRow
from aurelis.models.suggestions.report import SuggestionReport, read_outcomes
from aurelis.models.types import ModelType, TaskType

__all__ = ["models_command", "model_rows", "OFFLINE_CAPTION"]

OFFLINE_CAPTION = (
    "offline: no endpoint or token is configured, so every request goes to the local model"
)


def model_rows(
    settings: AurelisConfig,
    health: dict[str, Any] | None,
    usage: UsageReport | None = None,
    suggestions: SuggestionReport | None = None,
) -> list[dict[str, Any]]:
    """One dict per model, in catalog order (the JSON shape of `aurelis models --json`).

    With `usage` (redis_url or budgets set) each row also has today's tokens and budget;
    with `suggestions`, the acceptance of its inline suggestions over 7 days.
    """
    spent = {row.name: row for row in usage.rows} if usage is not None else {}
    accepted = _acceptance_by_model(suggestions)
    routed: dict[ModelType, list[str]] = {}
    configured: dict[ModelType, list[str]] = {}
    for task in TaskType:
        routed.setdefault(effective_route(task, settings), []).append(task.value)
        configured.setdefault(route(task, settings), []).append(task.value)
    rows = []
    measured = load_results()
    for model, info in CATALOG.items():
        resolved = resolve(model, settings)
        state = (health or {}).get(model.value) or {}
        rows.append(
            {
                "model": model.value,
                "provider": info.provider,
                "deployment": resolved.deployment,
                "best_for": info.best_for,
                "context_window": resolved.context_window,
                "tasks": routed.get(model, []),
                "tasks_when_online": configured.get(model, []),
                "healthy": state.get("healthy"),
                "breaker": state.get("breaker"),
                "rate_limit_remaining": state.get("rate_limit_remaining"),
                "last_error": state.get("last_error"),
                # The last `aurelis eval` result per task, to choose routes from.
                "eval": {
                    task: result.get("summary")
                    for task, result in sorted(measured.get(model.value, {}).items())
                },
            }
        )
        if suggestions is not None:
            found = accepted.get(model.value)
            rows[-1]["suggestions_7d"] = None if found is None else _acceptance_json(found)
        if usage is not None and model is not ModelType.LOCAL:
            today = spent.get(model.value)
            rows[-1]["tokens_today"] = today.used if today is not None else 0
            rows[-1]["budget"] = settings.budgets.get(model.value)
    return rows


def _acceptance_by_model(report: SuggestionReport | None) -> dict[str, SuggestionRow]:
    if report is None:
        return {}
    return {row.model: row for row in report.rows("week", by_language=False)}


def _acceptance_json(row: SuggestionRow) -> dict[str, Any]:
    return {
        "shown": row.shown,
        "accepted": row.accepted,
        "acceptance_rate": row.acceptance_rate,
        "retained_chars": row.retained_chars,
    }


async def _health() -> dict[str, Any] | None:
    health = dict(runtime.orchestrator().health())
    # With Redis, a breaker another process opened is open here too.
    for name, (state, retry_in) in (await shared_breakers(runtime.config())).items():
        if state is not BreakerState.CLOSED or name in health:
            health[name] = {
                **health.get(name, {}),
                "healthy": state is not BreakerState.OPEN,
                "breaker": state.value,
                "retry_in": round(retry_in, 3),
            }
    return health


def _health_cell(row: dict[str, Any], settings: AurelisConfig) -> str:
    if row["model"] != ModelType.LOCAL.value and not settings.remote_enabled:
        return "disabled (offline)"
    if row["healthy"] is None:
        return "not tried yet"
    if row["healthy"]:
        return "ok"
    breaker = row.get("breaker")
    return f"unhealthy ({breaker})" if breaker else "unhealthy"


def _table(rows: list[dict[str, Any]], settings: AurelisConfig) -> Table:
    table = Table(title="Aurelis models", title_justify="left", expand=False)
    table.add_column("model", no_wrap=True)
    table.add_column("provider", no_wrap=True)
    table.add_column("deployment", no_wrap=True)
    table.add_column("best for")
    table.add_column("context", justify="right", no_wrap=True)
    table.add_column("tasks routed here", no_wrap=True)
    table.add_column("health", no_wrap=True)
    table.add_column("rate limit left", justify="right")
    table.add_column("last eval")
    table.add_column("accepted (7 d)", justify="right", no_wrap=True)
    with_usage = any("tokens_today" in row for row in rows)
    if with_usage:
        table.add_column("tokens today / budget", justify="right")
    for row in rows:
        remaining = row["rate_limit_remaining"]
        cells = [_accepted_cell(row)] + ([] if not with_usage else [_usage_cell(row)])
        table.add_row(
            row["model"],
            row["provider"],
            row["deployment"],
            row["best_for"],
            f"{row['context_window']:,}",
            "\n".join(row["tasks"]) or "-",
            _health_cell(row, settings),
            "-" if remaining is None else str(remaining),
            "\n".join(f"{task} {summary}" for task, summary in row["eval"].items()) or "-",
            *cells,
        )
    if not settings.remote_enabled:
        table.caption = OFFLINE_CAPTION
    return table


def _accepted_cell(row: dict[str, Any]) -> str:
    found = row.get("suggestions_7d")
    if not found or not found["shown"]:
        return "no suggestions yet" if "code_completion" in row["tasks"] else "-"
    rate = found["acceptance_rate"]
    return f"{rate * 100:.0f}% of {found['shown']:,} shown"


def _usage_cell(row: dict[str, Any]) -> str:
    if "tokens_today" not in row:
        return "-"
    budget = row.get("budget")
    used = f"{row['tokens_today']:,}"
    return used if budget is None else f"{used} / {budget:,}"


def models_command(
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List the models, where tasks are routed, and their health."""
    with error_boundary(debug=runtime.STATE.debug):
        settings = runtime.config()
        health = runtime.run_async(_health)
        usage = None
        if settings.redis_url is not None or settings.budgets:
            usage = runtime.run_async(lambda: usage_today(settings))
        suggestions = runtime.run_async(lambda: read_outcomes(settings))
        rows = model_rows(settings, health, usage, suggestions)
        if json_output:
            print_json({"remote_enabled": settings.remote_enabled, "models": rows})
            return
        runtime.table_console().print(_table(rows, settings))
