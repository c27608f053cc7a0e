"""The repository index line of `aurelis doctor`: can it be built here (search engine and
grammars load), and what the saved index of the current project holds."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Literal

from aurelis.core.config import AurelisConfig

__all__ = ["index_check"]


#: A doctor line: name, status, detail, hint.
IndexLine = tuple[str, Literal["ok", "warn", "fail", "info"], str, str | None]


def index_check(settings: AurelisConfig, folder: Path | None = None) -> IndexLine:
    """(name, status, detail, hint) for the index of the project around `folder` (cwd)."""
    from aurelis.cli.repository.context_cmd import project_root
    from aurelis.index.languages import GRAMMARS, load_grammar
    from aurelis.index.store import index_path, load_index

    name = "repository index"
    try:
        importlib.import_module("tantivy")
    except ImportError:
        return name, "fail", "the search engine (tantivy) is not installed", "reinstall aurelis"
    missing = sorted(key for key, grammar in GRAMMARS.items() if load_grammar(grammar) is None)
    root = project_root((folder or Path.cwd()).resolve() / "probe")
    where = index_path(root, settings.cache_dir)
    if where is None:
        return (
            name,
            "warn",
            f"cache_dir is inside {root}: the index stays in memory",
            ("set cache_dir outside the project"),
        )
    files = load_index(where, root)
    grammars = f"; no grammar for {', '.join(missing)}" if missing else ""
    if not files:
        detail = f"{root}: not built yet (the editor builds it in the background){grammars}"
        return name, "info", detail, "or run: aurelis context FILE:LINE"
    chunks = sum(len(entry.chunks) for entry in files.values())
    age = time.time() - where.stat().st_mtime
    detail = (
        f"{root}: {len(files)} files, {chunks} chunks, saved {age / 60:.0f} min ago "
        f"in {where.parent}{_embeddings(settings, where)}{grammars}"
    )
    return name, "warn" if missing else "ok", detail, None


def _embeddings(settings: AurelisConfig, index_file: Path) -> str:
    """What the saved vectors hold, when the user turned embeddings on."""
    model = settings.retrieval_embeddings_model
    if not model:
        return ""
    from aurelis.index.vectors import ChunkVectors, vectors_path

    vectors = ChunkVectors(model, vectors_path(index_file))
    vectors.load()
    return f"; embeddings by {model}: {vectors.held()} chunks"
