"""Repository context and answer quality, one run side by side (not a test; no assertions).

    python bench/repo_context.py index [--root DIR]
        the index of a real tree (default: this venv's site-packages, > 1,000 files):
        build time in the background (throttled, as the server builds it, saved to a
        throwaway cache directory at the end as the server saves it), update after a save
        (median), memory per file, and the retrieval an inline request adds (p50).
        Memory is the growth of the process: `memory_mb` from before the first index (so it
        counts loading the grammars and detect-secrets as well), `memory_mb_index` from
        after a small warm-up index (the index's own share).
    python bench/repo_context.py vectors [--chunks N] [--dimensions D]
        the chunk vectors of retrieval by meaning (random unit vectors, no endpoint): memory
        per 10,000 chunks, the cosine ranking an action adds (p50 of 50 queries), making
        them searchable, and saving and loading them (default: 50,000 chunks, the cap, of
        768 numbers, text-embedding-3-small's reduced width and nomic-embed-text's).
    python bench/repo_context.py quality [--positions N] [--humaneval N] [--seed S] [--cross-file]
        `aurelis eval lines` on rich, click, typer and requests (sources of pinned PyPI
        packages) with retrieval on and off, and HumanEval through Aurelis (generate and
        complete) beside the raw embedded model with HumanEval's standard prompt and stops.

Run with the embedded model (no endpoint configured). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

SERVER = Path(__file__).resolve().parents[1] / "server"
sys.path.insert(0, str(SERVER))

from aurelis.index.files import IndexFilter, indexable_files, read_source  # noqa: E402
from aurelis.index.repo_index import RepoIndex  # noqa: E402
from aurelis.index.store import index_path  # noqa: E402
from aurelis.index.throttle import Throttle  # noqa: E402

SITE = Path(sysconfig.get_paths()["purelib"])
REPOSITORIES = ("rich", "click", "typer", "requests")
_RAW_STOPS = ["\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#"]  # HumanEval's own


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# One file a grammar, and a URL (which loads detect-secrets): the fixed cost of any index.
_WARM_UP_FILES = {
    "a.py": "def f():\n    return 'https://example.test'\n",
    "a.js": "function f() {}\n",
    "a.ts": "function f(): void {}\n",
    "a.tsx": "const f = () => <div/>;\n",
    "a.go": "package a\nfunc F() {}\n",
    "a.rs": "fn f() {}\n",
    "A.java": "class A {}\n",
    "a.c": "int f(void) { return 0; }\n",
    "a.cpp": "int f() { return 0; }\n",
}


def _warm_up() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for name, text in _WARM_UP_FILES.items():
            (Path(folder) / name).write_text(text)
        RepoIndex(Path(folder).resolve(), None, IndexFilter()).build()


def index_figures(root: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as cache:
        return _index_figures(root.resolve(), Path(cache))


def _index_figures(root: Path, cache: Path) -> dict[str, Any]:
    from aurelis.lsp.workspace.retrieval import query_at

    before = _rss_bytes()
    _warm_up()
    warm = _rss_bytes()
    index = RepoIndex(root, index_path(root, cache), IndexFilter())
    started, cpu_started = time.perf_counter(), time.process_time()
    index.build(throttle=Throttle())  # the server's duty cycle
    build, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stats = index.stats()
    grown, own = _rss_bytes() - before, _rss_bytes() - warm
    files = sorted(path for path, _ in indexable_files(index.root, IndexFilter()))
    sample = [path for path in files if path.endswith(".py")][:: max(1, len(files) // 60)][:50]
    updates, retrievals = [], []
    for relative in sample:
        read = read_source(index.root, relative)
        if read is None:
            continue
        text = read[0]
        began = time.perf_counter()
        index.update(relative, text + "\n\ndef bench_new_definition():\n    pass\n")
        updates.append(time.perf_counter() - began)
    for relative in sample:
        read = read_source(index.root, relative)
        if read is None:
            continue
        query = query_at(read[0], len(read[0]) // 2)
        began = time.perf_counter()
        index.definitions(query.names, query.partial)
        index.search(query.text, 6, skip={relative})
        retrievals.append(time.perf_counter() - began)
    return {
        "root": str(root),
        "files": stats.files,
        "chunks": stats.chunks,
        "build_seconds_background": round(build, 2),
        "build_seconds_per_1000_files": round(build / stats.files * 1000, 2),
        # CPU time of the whole process (the engine's threads too): what the build costs
        # whatever else runs on the machine, unlike the wall clock above.
        "build_cpu_seconds": round(cpu, 2),
        "update_after_save_ms_p50": round(statistics.median(updates) * 1000, 1),
        "retrieval_ms_p50": round(statistics.median(retrievals) * 1000, 2),
        "memory_mb": round(grown / 2**20, 1),
        "memory_mb_per_10000_files": round(grown / 2**20 / stats.files * 10_000, 1),
        "memory_mb_index": round(own / 2**20, 1),
        "memory_mb_index_per_10000_files": round(own / 2**20 / stats.files * 10_000, 1),
    }


def vector_figures(chunks: int, dimensions: int) -> dict[str, Any]:
    import numpy as np

    from aurelis.index.vectors import ChunkPlace, ChunkVectors

    generator = np.random.default_rng(0)
    keys = [f"{number:032x}" for number in range(chunks)]
    places = [
        (ChunkPlace(f"f{n // 8}.py", n % 8 * 24, n % 8 * 24 + 24), k) for n, k in enumerate(keys)
    ]
    before = _rss_bytes()
    with tempfile.TemporaryDirectory() as folder:
        vectors = ChunkVectors("bench", Path(folder) / "x.vectors")
        for start in range(0, chunks, 16):  # as the background pass adds them
            batch = generator.standard_normal((min(16, chunks - start), dimensions))
            vectors.add(keys[start : start + 16], batch.tolist())
        started = time.perf_counter()
        vectors.arrange(places)
        arrange = time.perf_counter() - started
        grown = _rss_bytes() - before
        queries = generator.standard_normal((50, dimensions)).tolist()
        times = []
        for query in queries:
            started = time.perf_counter()
            vectors.nearest(query, 6, skip="f0.py")
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        vectors.save()
        save = time.perf_counter() - started
        size = (Path(folder) / "x.vectors").stat().st_size
        started = time.perf_counter()
        again = ChunkVectors("bench", Path(folder) / "x.vectors")
        again.load()
        again.arrange(places)
        load = time.perf_counter() - started
    return {
        "chunks": chunks,
        "dimensions": dimensions,
        "memory_mb_per_10000_chunks": round(grown / 2**20 / chunks * 10_000, 1),
        "nearest_p50_ms": round(statistics.median(times) * 1000, 2),
        "arrange_s": round(arrange, 2),
        "save_s": round(save, 2),
        "load_and_arrange_s": round(load, 2),
        "file_mb": round(size / 2**20, 1),
    }


async def _lines(positions: int, seed: int, cross_file_only: bool) -> dict[str, Any]:
    from aurelis.core.config import get_config
    from aurelis.evaluation.line_run import run_lines
    from aurelis.models import get_model_orchestrator

    orchestrator = get_model_orchestrator()
    figures = {}
    for name in REPOSITORIES:
        report = await run_lines(
            orchestrator.process_request,
            get_config(),
            SITE / name,
            positions,
            seed,
            None,
            cross_file_only=cross_file_only,
        )
        figures[name] = {key: value for key, value in report.items() if key != "positions"}
    return figures


async def _humaneval(limit: int, seed: int) -> dict[str, Any]:
    from aurelis.evaluation.humaneval import load_problems, run_humaneval, sample
    from aurelis.models import get_model_orchestrator
    from aurelis.models.types import TaskType

    problems = load_problems()
    ids = sample(problems, limit, seed)
    ask = get_model_orchestrator().process_request
    figures = {}
    for task in (TaskType.CODE_COMPLETION, TaskType.CODE_GENERATION):
        outcomes = await run_humaneval(ask, problems, ids, task, None)
        figures[f"aurelis_{task.value}"] = f"{sum(o.passed for o in outcomes)}/{len(outcomes)}"
    figures["raw_model"] = _raw_humaneval(problems, ids)
    return figures


def _raw_humaneval(problems: dict[str, Any], ids: list[str]) -> str:
    """The embedded GGUF itself, greedy, HumanEval's standard prompt and stops."""
    from llama_cpp import Llama

    from aurelis.evaluation.humaneval import program_for
    from aurelis.evaluation.sandbox import run_isolated
    from aurelis.models.providers.local import default_model_path

    llama = Llama(str(default_model_path()), n_ctx=2048, n_threads=2, verbose=False)
    passed = 0
    for task_id in ids:
        problem = problems[task_id]
        out = llama.create_completion(
            problem["prompt"], max_tokens=384, temperature=0.0, stop=_RAW_STOPS
        )
        passed += run_isolated(program_for(problem, out["choices"][0]["text"])).passed
    return f"{passed}/{len(ids)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("what", choices=("index", "vectors", "quality"))
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--dimensions", type=int, default=768)
    parser.add_argument("--root", type=Path, default=SITE)
    parser.add_argument("--positions", type=int, default=10)
    parser.add_argument("--humaneval", type=int, default=164)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cross-file", action="store_true", help="only lines using a name from another file"
    )
    args = parser.parse_args()
    if args.what == "index":
        print(json.dumps(index_figures(args.root), indent=1))
        return
    if args.what == "vectors":
        print(json.dumps(vector_figures(args.chunks, args.dimensions), indent=1))
        return
    lines = asyncio.run(_lines(args.positions, args.seed, args.cross_file))
    humaneval = asyncio.run(_humaneval(args.humaneval, args.seed)) if args.humaneval else {}
    print(json.dumps({"lines": lines, "humaneval": humaneval}, indent=1))


if __name__ == "__main__":
    main()
