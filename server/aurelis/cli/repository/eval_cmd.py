"""`aurelis eval`: answer quality of the configured models, on code nobody here wrote.

    aurelis eval humaneval [--model M] [--limit N] [--seed S] [--task completion|generation]
    aurelis eval lines PATH [--positions N] [--seed S] [--model M] [--cross-file]

A progress bar on stderr, a table (or `--json`) on stdout; the last score per model and
task is kept for `aurelis models`.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from aurelis.cli import runtime
from aurelis.cli.ask import parse_model
from aurelis.cli.errors import error_boundary
from aurelis.cli.render import print_json
from aurelis.core.exceptions import ConfigurationError

__all__ = ["eval_app"]

eval_app = typer.Typer(help="Measure answer quality (HumanEval, next-line completion).")

_TASKS = {"completion": "code_completion", "generation": "code_generation"}


@eval_app.command("humaneval")
def humaneval_command(
    model: Annotated[str | None, typer.Option(help="Model to ask (default: the route).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Problems (seeded sample).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    task: Annotated[str, typer.Option(help="completion or generation.")] = "completion",
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """HumanEval pass@1: each answer run against the problem's tests in a sandbox."""
    from aurelis.evaluation.humaneval import load_problems, run_humaneval, sample
    from aurelis.evaluation.results import record_result
    from aurelis.models.types import TaskType

    with error_boundary(debug=runtime.STATE.debug):
        if task not in _TASKS:
            raise ConfigurationError(f"unknown task {task!r}", hint="completion or generation")
        chosen = parse_model(model)
        problems = load_problems()
        ids = sample(problems, limit, seed)
        with Progress(console=runtime.stderr_console(), transient=True) as bar:
            job = bar.add_task("HumanEval", total=len(ids))
            outcomes = runtime.run_async(
                lambda: run_humaneval(
                    runtime.orchestrator().process_request,
                    problems,
                    ids,
                    TaskType(_TASKS[task]),
                    chosen,
                    lambda outcome: bar.advance(job),
                )
            )
        passed = sum(outcome.passed for outcome in outcomes)
        label = _label(chosen, TaskType(_TASKS[task]))
        summary = f"{passed}/{len(outcomes)}"
        record_result(label, f"humaneval-{task}", passed / max(len(outcomes), 1), summary)
        report = {
            "model": label,
            "task": task,
            "seed": seed,
            "passed": passed,
            "total": len(outcomes),
            "pass_at_1": round(passed / max(len(outcomes), 1), 4),
            "median_seconds": round(statistics.median(o.seconds for o in outcomes), 3)
            if outcomes
            else None,
            "problems": [vars(outcome) for outcome in outcomes],
        }
        _show(report, json_output, ["model", "task", "passed", "total", "pass_at_1"])


@eval_app.command("lines")
def lines_command(
    path: Annotated[Path, typer.Argument(help="A repository (its Python files are sampled).")],
    positions: Annotated[int, typer.Option(min=1, help="Positions to complete.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the positions.")] = 0,
    model: Annotated[str | None, typer.Option(help="Model to ask (default: the route).")] = None,
    cross_file: Annotated[
        bool,
        typer.Option("--cross-file", help="Only lines that use a name defined in another file."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Next-line completion through the editor's inline path, retrieval on and off."""
    from aurelis.evaluation.line_run import run_lines
    from aurelis.evaluation.results import record_result
    from aurelis.models.types import TaskType

    with error_boundary(debug=runtime.STATE.debug):
        if not path.is_dir():
            raise ConfigurationError(f"{path} is not a folder")
        settings = runtime.config()
        chosen = parse_model(model)
        with Progress(console=runtime.stderr_console(), transient=True) as bar:
            job = bar.add_task("next lines", total=positions * 2)
            report = runtime.run_async(
                lambda: run_lines(
                    runtime.orchestrator().process_request,
                    settings,
                    path.resolve(),
                    positions,
                    seed,
                    chosen,
                    lambda: bar.advance(job),
                    cross_file_only=cross_file,
                )
            )
        label = _label(chosen, TaskType.CODE_COMPLETION)
        on = report["retrieval_on"]
        task = "lines-cross-file" if cross_file else "lines"
        record_result(label, task, on["exact_rate"], f"{on['exact']}/{on['total']} exact")
        _show(report, json_output, None)


def _label(chosen: Any, task: Any) -> str:
    """The model the results belong to: the one asked for, else the task's route."""
    from aurelis.models.routing import effective_route

    return str(chosen.value if chosen else effective_route(task, runtime.config()).value)


def _show(report: dict[str, Any], json_output: bool, columns: list[str] | None) -> None:
    if json_output:
        print_json(report)
        return
    title = "Aurelis eval"
    if report.get("embeddings"):
        title += f" (retrieval on: BM25 fused with embeddings by {report['embeddings']})"
    table = Table(title=title, title_justify="left")
    if columns is not None:
        for column in columns:
            table.add_column(column)
        table.add_row(*(str(report[column]) for column in columns))
    else:
        for column in ("retrieval", "positions", "exact", "edit similarity", "p50 s", "p95 s"):
            table.add_column(column)
        for key in ("retrieval_on", "retrieval_off", "cross_file_on", "cross_file_off"):
            row = report[key]
            table.add_row(
                key.replace("_", " "), str(row["total"]), str(row["exact"]),
                f"{row['similarity']:.2f}", f"{row['p50']:.2f}", f"{row['p95']:.2f}",
            )  # fmt: skip
    runtime.table_console().print(table)
