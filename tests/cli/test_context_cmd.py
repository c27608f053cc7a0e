"""`aurelis context FILE:LINE[:COL]`: what a completion there would send, as a real process
on a small repository (offline: the embedded model's prompt, which needs no model call)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env, run_cli

SECRET = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / ".git").mkdir(parents=True)
    (root / "billing").mkdir()
    (root / "billing" / "rows.py").write_text(
        f'def normalize_invoice_rows(rows, currency):\n    api_key = "{SECRET}"\n    return rows\n'
    )
    (root / "reports").mkdir()
    (root / "reports" / "monthly.py").write_text("import os\n\ntotals = normalize_inv\n")
    return root


def test_context_shows_the_retrieved_definition_its_source_and_the_redaction(
    repo: Path, isolated_config: object
) -> None:
    result = run_cli(["context", f"{repo}/reports/monthly.py:3", "--json"], cli_env(None))

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == "local"
    assert report["sources"][0] == {
        "path": "billing/rows.py",
        "lines": [1, 3],
        "kind": "definition",
    }
    assert report["prompt"].startswith("# billing/rows.py\ndef normalize_invoice_rows(")
    assert report["prompt"].endswith("totals = normalize_inv")
    assert report["redacted"] == 1 and SECRET not in result.stdout
    # The sources listed are the snippets that went into the prompt, no more.
    assert all(f"# {source['path']}\n" in report["prompt"] for source in report["sources"])


def test_a_position_that_is_not_file_line_col_is_a_usage_error(
    repo: Path, isolated_config: object
) -> None:
    result = run_cli(["context", f"{repo}/reports/monthly.py:zero"], cli_env(None))

    assert result.returncode == 2
    assert "FILE:LINE[:COL]" in result.stderr


def test_doctor_shows_the_saved_index_of_the_project(repo: Path, isolated_config: object) -> None:
    assert run_cli(["context", f"{repo}/reports/monthly.py:3"], cli_env(None)).returncode == 0

    result = subprocess.run(
        [sys.executable, "-m", "aurelis", "doctor", "--json"],
        env=cli_env(None),
        cwd=repo / "reports",
        capture_output=True,
        text=True,
        timeout=60,
    )

    checks = json.loads(result.stdout)["checks"]
    [line] = [check for check in checks if check["name"] == "repository index"]
    assert line["status"] == "ok"
    assert f"{repo.resolve()}: 2 files, 2 chunks" in line["detail"]


def test_doctor_shows_the_saved_embeddings_when_they_are_on(
    repo: Path, isolated_config: object
) -> None:
    from aurelis.index.store import index_path
    from aurelis.index.vectors import ChunkVectors, vectors_path

    assert run_cli(["context", f"{repo}/reports/monthly.py:3"], cli_env(None)).returncode == 0
    (saved,) = (Path(cli_env(None)["AURELIS_CACHE_DIR"]) / "index").glob("*.json")
    assert saved == index_path(repo.resolve(), Path(cli_env(None)["AURELIS_CACHE_DIR"]))
    vectors = ChunkVectors("embed-small", vectors_path(saved))
    vectors.add(["k1", "k2"], [[1.0, 0.0], [0.0, 1.0]])
    vectors.arrange([])  # nothing indexed uses them: dropped before the save
    vectors.add(["k3"], [[1.0, 1.0]])
    vectors.save()

    def doctor_line(**env: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "aurelis", "doctor", "--json"],
            env=cli_env(None, **env),
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=60,
        )
        checks = json.loads(result.stdout)["checks"]
        return next(c["detail"] for c in checks if c["name"] == "repository index")

    assert "embeddings" not in doctor_line()
    on = doctor_line(AURELIS_RETRIEVAL_EMBEDDINGS_MODEL="embed-small")
    assert "embeddings by embed-small: 1 chunks" in on
    other = doctor_line(AURELIS_RETRIEVAL_EMBEDDINGS_MODEL="embed-large")
    assert "embeddings by embed-large: 0 chunks" in other
