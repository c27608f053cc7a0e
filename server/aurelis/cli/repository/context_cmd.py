"""`aurelis context FILE:LINE[:COL]`: exactly what an inline completion there would send.

The same path as the editor's: the window around the cursor, the repository index of the
file's project (built or brought up to date first, and saved to the cache), retrieval, and
redaction; then the prompt as the model that the route picks would receive it. Shown:
where the request goes, each context section with its tokens, the snippets retrieval
chose and their sources, how many values were redacted, and the prompt itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from aurelis.cli import runtime
from aurelis.cli.errors import error_boundary
from aurelis.cli.render import print_json
from aurelis.core.config import AurelisConfig
from aurelis.core.exceptions import ConfigurationError
from aurelis.core.secrets import REDACTED
from aurelis.index.files import IndexFilter
from aurelis.index.languages import grammar_for
from aurelis.index.repo_index import RepoIndex
from aurelis.index.store import index_path
from aurelis.index.throttle import Throttle

__all__ = ["context_command", "inline_preview", "parse_location", "project_root"]

_ROOT_MARKERS = (".git", "pyproject.toml", "package.json", "go.mod", "Cargo.toml", ".hg")
_PROMPT_BUDGET = 8192


@dataclass(frozen=True)
class Location:
    path: Path
    line: int  # 1-based
    column: int | None  # 1-based; None: the end of the line


def parse_location(value: str) -> Location:
    """`FILE:LINE[:COL]` (1-based), with a clear error for anything else."""
    parts = value.rsplit(":", 2)
    numbers: list[int] = []
    while len(parts) > 1 and parts[-1].isdigit() and len(numbers) < 2:
        numbers.insert(0, int(parts.pop()))
    if not numbers or min(numbers) < 1:
        raise ConfigurationError(
            f"{value!r} is not FILE:LINE[:COL]", hint="lines and columns count from 1"
        )
    return Location(Path(":".join(parts)), numbers[0], numbers[1] if len(numbers) > 1 else None)


def project_root(path: Path) -> Path:
    """The nearest folder above `path` that marks a project (else the file's folder)."""
    for folder in path.parents:
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return path.parent


def _offset(text: str, location: Location) -> int:
    lines = text.split("\n")
    if location.line > len(lines):
        raise ConfigurationError(f"{location.path} has {len(lines)} lines, not {location.line}")
    start = sum(len(line) + 1 for line in lines[: location.line - 1])
    line = lines[location.line - 1]
    column = len(line) if location.column is None else min(location.column - 1, len(line))
    return start + column


def inline_preview(settings: AurelisConfig, location: Location, index: RepoIndex) -> dict[str, Any]:
    """What an inline completion at `location` would send, as a JSON-ready dict."""
    from aurelis.lsp.context import ContextSources, ProjectCache
    from aurelis.lsp.inline.prompt import build_inline_request, continuation_parts
    from aurelis.lsp.inline.suggestion import estimated_local_tokens, local_limits
    from aurelis.lsp.live_config import primary_model
    from aurelis.lsp.workspace.documents import DocumentSnapshot
    from aurelis.lsp.workspace.indexes import WorkspaceIndexes
    from aurelis.lsp.workspace.retrieval import query_at, related_code
    from aurelis.lsp.workspace.workspace_files import WorkspaceRoots
    from aurelis.models.types import ModelRequest, ModelType, TaskType

    path = location.path.resolve()
    text = path.read_text(encoding="utf-8")
    offset = _offset(text, location)
    grammar = grammar_for(path.name)
    document = DocumentSnapshot(
        path.as_uri(), str(path), grammar.name if grammar else "plaintext", None, text
    )
    indexes = WorkspaceIndexes()
    indexes.adopt(index)
    sources = ContextSources(WorkspaceRoots([index.root]), list, ProjectCache(), indexes)
    model = primary_model(ModelRequest(prompt="probe", task_type=TaskType.CODE_COMPLETION))
    local = (
        local_limits(settings, typing=False, count_tokens=estimated_local_tokens)
        if model is ModelType.LOCAL
        else None
    )
    request = build_inline_request(document, offset, sources, 1536, local=local)
    if local is not None:  # what went ahead of the window, as it was cut to fit
        snippets: list[Any] = list(continuation_parts(document, offset, local, sources)[1].snippets)
    else:
        snippets = related_code(indexes, str(path), query_at(text, offset))
    return _describe(request, model, snippets)


def _describe(request: Any, model: Any, snippets: list[Any]) -> dict[str, Any]:
    from aurelis.models.prompts import build_completion_prompt, build_messages
    from aurelis.models.tokens import count_tokens

    if request is None:
        return {"model": str(model.value), "prompt": None, "sections": [], "sources": []}
    if model.value == "local":
        built = build_completion_prompt(request, _PROMPT_BUDGET)
        prompt = built.text
    else:
        prompt = "\n\n".join(m["content"] for m in build_messages(request, _PROMPT_BUDGET).messages)
    sections = [
        {
            "name": "code before the cursor" if model.value == "local" else "request",
            "tokens": count_tokens(request.prompt),
        }
    ]
    sections += [
        {"name": key, "tokens": count_tokens(str(value))}
        for key, value in (request.context or {}).items()
    ]
    return {
        "model": str(model.value),
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
        "sections": sections,
        "sources": [
            {"path": s.path, "lines": [s.start + 1, s.end], "kind": s.source} for s in snippets
        ],
        "redacted": prompt.count(REDACTED),
        "prompt_tokens": count_tokens(prompt),
        "prompt": prompt,
    }


def _index_of(settings: AurelisConfig, root: Path) -> RepoIndex:
    index = RepoIndex(root, index_path(root, settings.cache_dir), IndexFilter())
    index.build(throttle=Throttle(duty=1.0))  # the user is waiting: full speed
    return index


def context_command(
    location: Annotated[str, typer.Argument(help="FILE:LINE[:COL], counted from 1.")],
    root: Annotated[
        Path | None, typer.Option("--root", help="The project folder (default: found from FILE).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Show exactly what an inline completion at FILE:LINE[:COL] would send to the model."""
    with error_boundary(debug=runtime.STATE.debug):
        settings = runtime.config()
        where = parse_location(location)
        if not where.path.is_file():
            raise ConfigurationError(f"{where.path} is not a file")
        folder = (root or project_root(where.path.resolve())).resolve()
        report = inline_preview(settings, where, _index_of(settings, folder))
        if json_output:
            print_json(report)
            return
        _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    console = runtime.stdout_console()
    err = runtime.stderr_console()
    err.print(
        f"model: {report['model']}  prompt tokens: {report.get('prompt_tokens', 0)}  "
        f"values redacted: {report.get('redacted', 0)}"
    )
    for section in report["sections"]:
        err.print(f"  section {section['name']}: {section['tokens']} tokens")
    for source in report["sources"]:
        first, last = source["lines"]
        err.print(f"  source {source['path']}:{first}-{last} ({source['kind']})")
    if report["prompt"] is None:
        err.print("nothing to complete from at this position")
        return
    console.print(report["prompt"])
