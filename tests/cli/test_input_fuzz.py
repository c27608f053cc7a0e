"""Hostile input on every CLI input path answers in bounded time: a long single-token line,
deep nesting and pathological Unicode through task detection, redaction and the token
counter (what every prompt goes through), then through `ask` (argument, stdin, `--file`),
`batch` and the shell as real processes. Each input has its own time bound, far above
what a linear pass takes and far below what the old quadratic patterns took (a 200 kB
word: minutes)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import cli_env, run_cli

from aurelis.cli.task_detection import detect_task
from aurelis.core.secrets.redaction import redact
from aurelis.models.tokens import count_tokens, truncate_head
from aurelis.testing import ModelServer, Reply

SIZE = 200_000
HOSTILE: dict[str, str] = {
    "one long word": "a" * SIZE,
    "one long keyword run": "pass" * (SIZE // 4),
    "calls without end": "f(" * (SIZE // 2),
    "assignments without end": "a =" * (SIZE // 3),
    "deep brackets": "[{(" * (SIZE // 3) + ")}]" * (SIZE // 3),
    "deep json": '{"a":' * (SIZE // 5) + "1" + "}" * (SIZE // 5),
    "open fences": "```" * (SIZE // 3),
    "url of at-signs": "http://a:" + "@" * SIZE,
    "flags without end": "--password " * (SIZE // 11),
    "combining marks": "e" + "\u0301" * SIZE,
    "zero-width joiners": "\U0001f469\u200d" * (SIZE // 2),
    "bidi overrides": "\u202e\u2066abc\u2069" * (SIZE // 6),
    "astral letters": "\U0001d400" * SIZE,
}
#: Seconds one input may take through one in-process step on a loaded 2-core machine.
IN_PROCESS_BOUND = 5.0


def _timed(step: Callable[[str], Any], text: str) -> float:
    started = time.perf_counter()
    step(text)
    return time.perf_counter() - started


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize(
    "step",
    [detect_task, redact, count_tokens, lambda text: truncate_head(text, 4000)],
    ids=["detect_task", "redact", "count_tokens", "truncate_head"],
)
def test_each_prompt_step_is_bounded_on_hostile_input(
    name: str, step: Callable[[str], Any]
) -> None:
    assert _timed(step, HOSTILE[name]) < IN_PROCESS_BOUND, name


def test_task_detection_still_reads_the_request_at_the_start_of_a_huge_prompt() -> None:
    detection = detect_task("write tests for this\n" + "x" * SIZE)
    assert detection.task.value == "testing"


# --- real processes --------------------------------------------------------------------------
#: Seconds one CLI process may take on one hostile input (start-up included).
PROCESS_BOUND = 60


@pytest.fixture
def env(thread_server: ModelServer, tmp_path: Path) -> dict[str, str]:
    thread_server.set_default("*", Reply(content="ok"))
    return cli_env(thread_server, AURELIS_HISTORY_FILE=str(tmp_path / "history"))


def _answered_or_refused(result: Any) -> None:
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 1, 2), result.stderr[-2000:]
    if result.returncode:
        assert result.stderr.strip(), "a failure must say why"


@pytest.mark.parametrize("name", ["one long word", "deep json", "combining marks"])
def test_ask_from_stdin_answers_in_bounded_time(env: dict[str, str], name: str) -> None:
    result = run_cli(["ask", "-", "--json"], env, input=HOSTILE[name], timeout=PROCESS_BOUND)
    _answered_or_refused(result)


def test_ask_with_a_long_argument_answers_in_bounded_time(env: dict[str, str]) -> None:
    word = "a" * 100_000  # an argument is at most 128 kB on Linux
    _answered_or_refused(run_cli(["ask", word, "--json"], env, timeout=PROCESS_BOUND))


@pytest.mark.parametrize("name", ["one long word", "url of at-signs", "zero-width joiners"])
def test_ask_with_a_hostile_file_answers_in_bounded_time(
    env: dict[str, str], tmp_path: Path, name: str
) -> None:
    path = tmp_path / "hostile.txt"
    path.write_text(HOSTILE[name], encoding="utf-8")
    result = run_cli(["ask", "--file", str(path), "explain", "--json"], env, timeout=PROCESS_BOUND)
    _answered_or_refused(result)


def test_a_huge_batch_line_holds_back_no_other_line(
    env: dict[str, str], thread_server: ModelServer, tmp_path: Path
) -> None:
    lines = [json.dumps({"id": "first", "prompt": "hello"})]
    lines += [json.dumps({"id": name, "prompt": text}) for name, text in HOSTILE.items()]
    lines += ["[" * 100_000, json.dumps({"id": "huge", "prompt": "x" * 3_000_000})]
    lines.append(json.dumps({"id": "last", "prompt": "bye"}))
    batch = tmp_path / "hostile.jsonl"
    batch.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"

    result = run_cli(["batch", str(batch), "-o", str(output)], env, timeout=3 * PROCESS_BOUND)

    assert "Traceback" not in result.stderr
    records = {r["id"]: r for r in map(json.loads, output.read_text().splitlines())}
    assert records["first"]["content"] == "ok" and records["last"]["content"] == "ok"
    assert set(HOSTILE) | {"huge"} <= set(records)  # each answered or failed with a reason
    assert "nested too deeply" in result.stderr or "invalid JSON" in result.stderr


def test_the_shell_reads_hostile_lines_and_keeps_going(env: dict[str, str]) -> None:
    script = "\n".join([HOSTILE["one long word"], HOSTILE["combining marks"], "/exit"]) + "\n"
    result = run_cli(["shell"], env, input=script, timeout=PROCESS_BOUND)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
