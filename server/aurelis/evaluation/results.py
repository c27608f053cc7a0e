"""The last evaluation result per model and task, kept for `aurelis models`.

One small JSON file in the user's data directory, 0600, written whole and renamed; a file
that is not ours or is damaged reads as no results.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import platformdirs

__all__ = ["load_results", "record_result", "results_path"]


def results_path() -> Path:
    return Path(platformdirs.user_data_dir("aurelis")) / "eval" / "results.json"


def load_results(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """{model: {task: {score, summary, when}}}; {} when there are none."""
    path = path or results_path()
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return {}
    with os.fdopen(descriptor, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def record_result(
    model: str, task: str, score: float, summary: str, path: Path | None = None
) -> None:
    """Keep this result as the last one for `model` and `task`."""
    path = path or results_path()
    data = load_results(path)
    data.setdefault(model, {})[task] = {"score": score, "summary": summary, "when": time.time()}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(temporary, flags, 0o600), "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.replace(temporary, path)
