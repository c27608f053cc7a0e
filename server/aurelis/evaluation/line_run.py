"""`aurelis eval lines`: the positions, each completed with retrieval on and off, and the
figures per side and for the cross-file positions apart."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aurelis.core.config import AurelisConfig
from aurelis.evaluation.inline_path import InlinePath
from aurelis.evaluation.lines import (
    Ask,
    LineOutcome,
    LinePosition,
    complete_line,
    pick_positions,
)
from aurelis.index.files import IndexFilter
from aurelis.index.repo_index import RepoIndex
from aurelis.index.store import index_path
from aurelis.index.throttle import Throttle
from aurelis.models.types import ModelType

__all__ = ["run_lines", "summarize"]


async def run_lines(
    ask: Ask,
    settings: AurelisConfig,
    root: Path,
    count: int,
    seed: int,
    model: ModelType | None,
    tick: Callable[[], None] = lambda: None,
    *,
    cross_file_only: bool = False,
) -> dict[str, Any]:
    index = RepoIndex(root, index_path(root, settings.cache_dir), IndexFilter())
    index.build(throttle=Throttle(duty=1.0))
    positions = pick_positions(index, count, seed, cross_file_only=cross_file_only)
    paths = {
        True: InlinePath(settings, root, index, model),
        False: InlinePath(settings, root, None, model),
    }
    if paths[True].local:
        await _local_model_ready()
    try:
        await paths[True].prepare()
        outcomes = [
            await _complete(ask, paths[retrieval], root, position, retrieval, tick)
            for position in positions
            for retrieval in (True, False)
        ]
    finally:
        await paths[True].close()
    semantic = paths[True].semantic
    return {
        "root": str(root),
        "seed": seed,
        "cross_file_only": cross_file_only,
        "embeddings": semantic.model if semantic is not None else None,
        "retrieval_on": summarize([o for o in outcomes if o.retrieval]),
        "retrieval_off": summarize([o for o in outcomes if not o.retrieval]),
        "cross_file_on": summarize([o for o in outcomes if o.retrieval and o.position.cross_file]),
        "cross_file_off": summarize(
            [o for o in outcomes if not o.retrieval and o.position.cross_file]
        ),
        "positions": [_row(o) for o in outcomes],
    }


async def _complete(
    ask: Ask,
    path: InlinePath,
    root: Path,
    position: LinePosition,
    retrieval: bool,
    tick: Callable[[], None],
) -> LineOutcome:
    outcome = await complete_line(
        ask,
        path.builder(position.path),
        path.shaper(position.path),
        root,
        position,
        retrieval,
        before=lambda text, offset: path.warm(position.path, text, offset),
    )
    tick()
    return outcome


async def _local_model_ready() -> None:
    """Inline requests do not wait for the embedded model to load (the editor shows
    nothing rather than wait): load it first, as the editor does before invoked ones."""
    from aurelis.lsp.local_model import local_model

    model = local_model(build=True)
    if model is not None and model.state != "ready":
        await model.preload()


def summarize(outcomes: list[LineOutcome]) -> dict[str, Any]:
    seconds = sorted(o.seconds for o in outcomes)
    exact = sum(o.exact for o in outcomes)
    return {
        "total": len(outcomes),
        "exact": exact,
        "exact_rate": exact / len(outcomes) if outcomes else 0.0,
        "similarity": statistics.fmean(o.similarity for o in outcomes) if outcomes else 0.0,
        "p50": statistics.median(seconds) if seconds else 0.0,
        "p95": seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))] if seconds else 0.0,
    }


def _row(outcome: LineOutcome) -> dict[str, Any]:
    position = outcome.position
    return {
        "path": position.path,
        "line": position.line + 1,
        "cross_file": position.cross_file,
        "retrieval": outcome.retrieval,
        "expected": position.expected,
        "suggestion": outcome.suggestion,
        "exact": outcome.exact,
        "similarity": round(outcome.similarity, 3),
        "seconds": round(outcome.seconds, 3),
    }
