"""`aurelis batch`: malformed lines skipped with their numbers, output in input order,
failures reported per line, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import cli_env, run_cli
from typer.testing import Result

from aurelis.cli.batch import parse_batch
from aurelis.core.config import AurelisConfig
from aurelis.testing import ModelServer, Reply

Invoke = Callable[..., Result]


def _echo(body: dict[str, Any]) -> str:
    return "answer to: " + body["messages"][-1]["content"].splitlines()[-1]


@pytest.fixture(autouse=True)
def echoing(thread_server: ModelServer, cli_remote: AurelisConfig) -> ModelServer:
    thread_server.set_responder("*", _echo)
    return thread_server


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_results_come_back_in_input_order_even_when_they_finish_out_of_order(
    invoke: Invoke, echoing: ModelServer, tmp_path: Path
) -> None:
    # The first request is the slowest, so it finishes last.
    echoing.set_default("openai/gpt-4o", Reply(latency=0.6))
    echoing.set_default("openai/gpt-4o-mini", Reply(latency=0.0))
    lines = [json.dumps({"id": "slow", "prompt": "first", "model": "gpt-4o"})] + [
        json.dumps({"id": n, "prompt": f"question {n}", "model": "gpt-4o-mini"})
        for n in range(2, 6)
    ]
    result = invoke(["batch", str(_write(tmp_path, lines)), "--concurrency", "5"])
    assert result.exit_code == 0, result.stderr
    records = _records(result.stdout)
    assert [r["id"] for r in records] == ["slow", 2, 3, 4, 5]
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["content"] == "answer to: first"
    assert records[3]["content"] == "answer to: question 4"
    assert records[0]["model_used"] == "gpt-4o"
    assert "batch: 5 succeeded, 0 failed, 0 cached" in result.stderr


def test_malformed_lines_are_reported_by_number_and_the_rest_still_run(
    invoke: Invoke, echoing: ModelServer, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"prompt": "good one"}),
        "{not json",
        "",
        json.dumps({"prompt": ""}),
        json.dumps({"promt": "typo"}),
        json.dumps(["a", "list"]),
        json.dumps({"prompt": "bad model", "model": "gpt-9"}),
        json.dumps({"prompt": "good two", "task": "explanation"}),
    ]
    out = tmp_path / "out.jsonl"
    result = invoke(["batch", str(_write(tmp_path, lines)), "--output", str(out)])
    assert result.exit_code == 2  # nothing failed at the model, but input was malformed
    for number, fragment in [
        (2, "invalid JSON"),
        (4, "`prompt` must be a non-empty string"),
        (5, "unknown field(s) promt"),
        (6, "expected a JSON object"),
        (7, "unknown model 'gpt-9'"),
    ]:
        assert f"line {number}: skipped: {fragment}" in result.stderr
    assert "line 3" not in result.stderr  # blank lines are not errors
    records = _records(out.read_text())
    assert [r["line"] for r in records] == [1, 8]
    assert [r["content"] for r in records] == ["answer to: good one", "answer to: good two"]
    assert records[1]["metadata"]["task_type"] == "explanation"
    assert result.stdout == ""
    assert "5 malformed lines skipped" in result.stderr
    assert len(echoing.requests) == 2


def test_a_failing_model_is_reported_per_line_and_exits_1(
    invoke: Invoke, echoing: ModelServer, tmp_path: Path
) -> None:
    # Mistral Nemo is the last link of every default fallback chain: nothing rescues it.
    echoing.set_default("mistral-ai/Mistral-Nemo", Reply(status=500))
    lines = [
        json.dumps({"prompt": "fine", "model": "gpt-4o-mini"}),
        json.dumps({"prompt": "doomed", "model": "mistral-nemo"}),
        json.dumps({"prompt": "also fine", "model": "gpt-4o-mini"}),
    ]
    result = invoke(["batch", str(_write(tmp_path, lines))])
    assert result.exit_code == 1
    records = _records(result.stdout)
    assert [r["line"] for r in records] == [1, 2, 3]
    assert records[0]["content"] == "answer to: fine"
    assert "error" not in records[0]
    assert "500" in records[1]["error"] and "content" not in records[1]
    assert records[1]["error_type"]
    assert records[2]["content"] == "answer to: also fine"
    assert "batch: 2 succeeded, 1 failed" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_request_failing_still_writes_every_line(
    invoke: Invoke, echoing: ModelServer, tmp_path: Path
) -> None:
    echoing.set_default("*", Reply(status=500))
    lines = [json.dumps({"prompt": f"q{n}"}) for n in range(4)]
    result = invoke(["batch", str(_write(tmp_path, lines))])
    assert result.exit_code == 1
    assert [r["line"] for r in _records(result.stdout)] == [1, 2, 3, 4]
    assert all("error" in r for r in _records(result.stdout))


def test_repeated_lines_count_as_cache_hits(
    invoke: Invoke, echoing: ModelServer, tmp_path: Path
) -> None:
    path = _write(tmp_path, [json.dumps({"prompt": "same"})] * 3)
    first = invoke(["batch", str(path)])
    assert first.exit_code == 0, first.stderr
    second = invoke(["batch", str(path)])
    assert [r["cached"] for r in _records(second.stdout)] == [True, True, True]
    assert "3 cached" in second.stderr
    assert len(echoing.requests) == 1  # identical lines share one call


def test_file_field_attaches_context_relative_to_the_batch_file(
    invoke: Invoke, echoing: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / "mod.py").write_text("a = 1\nb = 2\nc = 3\n")
    path = _write(tmp_path, [json.dumps({"prompt": "explain", "file": "mod.py", "lines": "2"})])
    result = invoke(["batch", str(path)])
    assert result.exit_code == 0, result.stderr
    sent = echoing.requests[-1].last_user_message
    assert "b = 2" in sent and "a = 1" not in sent and "c = 3" not in sent


def test_unusable_input_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    missing = invoke(["batch", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    empty = invoke(["batch", str(_write(tmp_path, ["", "{broken"]))])
    assert empty.exit_code == 2 and "has no valid requests" in empty.stderr
    path = _write(tmp_path, [json.dumps({"prompt": "x"})])
    same = invoke(["batch", str(path), "--output", str(path)])
    assert same.exit_code == 2 and "--output is the input file" in same.stderr


def test_parse_batch_detects_the_task_when_none_is_given(tmp_path: Path) -> None:
    items, problems = parse_batch(
        [
            json.dumps({"prompt": "write unit tests for f"}),
            json.dumps({"prompt": "x", "task": "auto"}),
        ],
        base_dir=tmp_path,
    )
    assert problems == []
    assert [item.request.task_type.value for item in items] == ["testing", "general"]


def test_batch_as_a_subprocess_with_a_progress_summary(
    thread_server: ModelServer, tmp_path: Path
) -> None:
    thread_server.set_responder("*", _echo)
    path = _write(tmp_path, [json.dumps({"prompt": f"q{n}"}) for n in range(3)] + ["oops"])
    done = run_cli(["batch", str(path)], cli_env(thread_server))
    assert done.returncode == 2
    assert [r["content"] for r in _records(done.stdout)] == [
        "answer to: q0",
        "answer to: q1",
        "answer to: q2",
    ]
    assert "line 4: skipped: invalid JSON" in done.stderr
    assert "batch: 3 succeeded, 0 failed, 0 cached, 1 malformed line skipped" in done.stderr
