"""Suggestion counts: fields, merging, percentiles from buckets, the day files."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from typer.testing import CliRunner

from aurelis.cli.main import app
from aurelis.models.suggestions.counts import (
    OutcomeKey,
    latency_counter,
    merged,
    summarise,
)
from aurelis.models.suggestions.ledger import utc_day
from aurelis.models.suggestions.local_file import OutcomeFiles, outcomes_folder

KEY = OutcomeKey("gpt-4o", "code_completion", "python", "chat")


def _tally(key: OutcomeKey, **counts: int) -> dict[str, int]:
    return {key.field(name): count for name, count in counts.items()}


def test_a_hostile_language_id_cannot_forge_fields_or_grow_labels() -> None:
    key = OutcomeKey("gpt-4o", "code_completion", "py|thon" + "x" * 100, "chat")
    field = key.field("shown")
    assert field.count("|") == 4
    assert len(field.split("|")[2]) == 32


def test_rows_merge_processes_and_compute_rates() -> None:
    one = _tally(KEY, offered=3, shown=2, accepted=1, accepted_chars=10)
    two = _tally(KEY, offered=1, shown=2, accepted=1, accepted_chars=6)
    two.update(_tally(KEY, checked_chars_final=16, retained_chars_final=8))
    [row] = summarise(merged([one, two]))
    assert (row.offered, row.shown, row.accepted, row.accepted_chars) == (4, 4, 2, 16)
    assert row.acceptance_rate == 0.5
    assert row.retention_rate == 0.5


def test_percentiles_come_from_the_buckets() -> None:
    tally: dict[str, int] = {}
    for seconds in [0.04] * 90 + [0.9] * 9 + [45.0]:
        field = KEY.field(latency_counter(seconds))
        tally[field] = tally.get(field, 0) + 1
    [row] = summarise(tally)
    assert (row.latency_p50_ms, row.latency_p95_ms) == (50, 1000)


def test_rows_split_by_language_unless_asked_per_model() -> None:
    rust = OutcomeKey("gpt-4o", "code_completion", "rust", "fim")
    tally = merged([_tally(KEY, shown=1), _tally(rust, shown=3)])
    assert [row.language for row in summarise(tally)] == ["rust", "python"]
    [row] = summarise(tally, by_language=False)
    assert row.shown == 4


def test_foreign_fields_are_skipped() -> None:
    assert summarise({"not-ours": 3, KEY.field("shown"): 1, "a|b|c|d|e|f": 2})[0].shown == 1


def test_day_files_are_private_appends_and_damaged_lines_are_skipped(tmp_path: Path) -> None:
    files = OutcomeFiles(tmp_path / "suggestions")
    files.append("2026-12-05", _tally(KEY, shown=1))
    files.append("2026-12-05", _tally(KEY, shown=2))
    path = files.folder / "2026-12-05.jsonl"
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"cut short\n["a list"]\n{"x": "text"}\n')
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert files.read(["2026-12-05", "2026-12-06"]) == {
        "2026-12-05": _tally(KEY, shown=3),
        "2026-12-06": {},
    }


def test_pruning_keeps_only_the_days_asked_for(tmp_path: Path) -> None:
    files = OutcomeFiles(tmp_path)
    for day in ("2026-11-01", "2026-12-06"):
        files.append(day, _tally(KEY, shown=1))
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    files.prune(["2026-12-06"])
    assert sorted(os.listdir(tmp_path)) == ["2026-12-06.jsonl", "notes.txt"]


def test_a_link_planted_as_a_day_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.json"
    secret.write_text('{"' + KEY.field("shown") + '": 5}\n', encoding="utf-8")
    files = OutcomeFiles(tmp_path / "suggestions")
    files.folder.mkdir()
    (files.folder / "2026-12-06.jsonl").symlink_to(secret)
    assert files.read(["2026-12-06"]) == {"2026-12-06": {}}


def test_usage_and_models_show_this_machines_counts_without_redis() -> None:
    codestral = OutcomeKey("codestral-2501", "code_completion", "python", "fim")
    OutcomeFiles(outcomes_folder()).append(
        utc_day(time.time()), _tally(codestral, offered=5, shown=4, accepted=3)
    )
    runner = CliRunner()

    usage = json.loads(runner.invoke(app, ["usage", "--json"]).stdout)
    table = runner.invoke(app, ["usage", "--suggestions"], terminal_width=200).stdout
    models = json.loads(runner.invoke(app, ["models", "--json"]).stdout)["models"]

    [row] = usage["suggestions"]["today"]
    assert (row["model"], row["shown"], row["accepted"], row["acceptance_rate"]) == (
        "codestral-2501",
        4,
        3,
        0.75,
    )
    assert usage["suggestions"]["shared_through"] is None and "budgets" in usage
    assert "Inline suggestions, today (UTC)" in table and "75%" in table
    by_model = {entry["model"]: entry for entry in models}
    assert by_model["codestral-2501"]["suggestions_7d"]["acceptance_rate"] == 0.75
    assert by_model["gpt-4o"]["suggestions_7d"] is None
