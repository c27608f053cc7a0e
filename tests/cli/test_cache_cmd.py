"""`aurelis cache stats|clear` against the persistent cache, across processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import cli_env, run_cli

from aurelis.testing import ModelServer, Reply


def test_stats_and_clear_see_answers_cached_by_an_earlier_process(
    thread_server: ModelServer, tmp_path: Path
) -> None:
    thread_server.set_default("*", Reply(content="cached answer"))
    env = cli_env(
        thread_server, AURELIS_PERSISTENT_CACHE="true", AURELIS_CACHE_DIR=str(tmp_path / "cache")
    )
    first = run_cli(["ask", "--json", "remember me"], env)
    assert json.loads(first.stdout)["cached"] is False
    second = run_cli(["ask", "--json", "remember me"], env)
    assert json.loads(second.stdout)["cached"] is True
    assert len(thread_server.requests) == 1

    stats = json.loads(run_cli(["cache", "stats", "--json"], env).stdout)
    assert stats["persistent_entries"] == 1
    assert stats["persistent"] and str(tmp_path / "cache") in stats["persistent"]

    cleared = run_cli(["cache", "clear"], env)
    assert cleared.returncode == 0 and cleared.stdout == "cleared 1 cached entry\n"
    third = run_cli(["ask", "--json", "remember me"], env)
    assert json.loads(third.stdout)["cached"] is False
    assert len(thread_server.requests) == 2


def test_stats_table(invoke) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["cache", "stats"])
    assert result.exit_code == 0, result.stderr
    assert "Response cache" in result.stdout and "hits" in result.stdout
