"""`aurelis eval` end to end against the loopback model server: HumanEval answers run in
the sandbox against the problems' own tests, next-line completion on a small repository
through the inline path, and the last results shown by `aurelis models`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env, run_cli

from aurelis.evaluation.humaneval import load_problems, sample
from aurelis.testing import ModelServer, Reply


def _humaneval(server: ModelServer, reply: str) -> dict[str, object]:
    server.set_default("*", Reply(content=reply))
    result = run_cli(
        ["eval", "humaneval", "--limit", "1", "--seed", "3", "--json"], cli_env(server), timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_correct_answer_passes_and_a_wrong_one_fails(
    thread_server: ModelServer, isolated_config: object
) -> None:
    problems = load_problems()
    [task_id] = sample(problems, 1, 3)
    solution = problems[task_id]["canonical_solution"]

    right = _humaneval(thread_server, solution)
    wrong = _humaneval(thread_server, "    return None\n")

    assert (right["passed"], right["total"]) == (1, 1)
    assert (wrong["passed"], wrong["total"]) == (0, 1)
    assert right["problems"][0]["task_id"] == task_id
    assert "def " in thread_server.requests[-1].messages[-1]["content"]  # the problem was sent


def test_generated_code_cannot_reach_the_network(
    thread_server: ModelServer, isolated_config: object
) -> None:
    probe = "    import socket\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
    report = _humaneval(thread_server, probe)

    assert report["problems"][0]["detail"].startswith("PermissionError: network access")


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "billing").mkdir(parents=True)
    (root / "billing" / "rows.py").write_text(
        "def normalize_invoice_rows(rows, currency):\n    return sorted(rows)\n"
    )
    body = "".join(f"    value_{n} = compute_{n}(rows)\n" for n in range(6))
    (root / "report.py").write_text(
        "import os\n\n\ndef monthly(rows):\n"
        + body
        + "    totals = normalize_invoice_rows(rows, 'EUR')\n    return totals\n"
    )
    return root


def test_next_line_completion_compares_retrieval_on_and_off(
    thread_server: ModelServer, isolated_config: object, small_repo: Path
) -> None:
    thread_server.set_default("*", Reply(content="totals = normalize_invoice_rows(rows, 'EUR')"))

    result = run_cli(
        ["eval", "lines", str(small_repo), "--positions", "4", "--json"],
        cli_env(thread_server),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["retrieval_on"]["total"] == report["retrieval_off"]["total"] >= 2
    cross = [row for row in report["positions"] if row["cross_file"]]
    assert cross and all("normalize_invoice_rows" in row["expected"] for row in cross)
    assert all(row["exact"] for row in cross)  # the scripted answer is that line
    prompts = [str(request.body) for request in thread_server.requests]
    assert any("billing/rows.py" in prompt for prompt in prompts)  # retrieval on
    assert any("billing/rows.py" not in prompt for prompt in prompts)  # retrieval off

    models = run_cli(["models", "--json"], cli_env(thread_server))
    measured = [row["eval"] for row in json.loads(models.stdout)["models"] if row["eval"]]
    on = report["retrieval_on"]
    assert measured == [{"lines": f"{on['exact']}/{on['total']} exact"}]  # the routed model


def test_cross_file_positions_can_be_measured_alone(
    thread_server: ModelServer, isolated_config: object, small_repo: Path
) -> None:
    thread_server.set_default("*", Reply(content="totals = normalize_invoice_rows(rows, 'EUR')"))

    result = run_cli(
        ["eval", "lines", str(small_repo), "--positions", "3", "--cross-file", "--json"],
        cli_env(thread_server),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rows = report["positions"]
    # The fixture has one such line among many others: it is the one measured.
    assert report["cross_file_only"] and rows and all(row["cross_file"] for row in rows)
    assert {row["expected"] for row in rows} == {"totals = normalize_invoice_rows(rows, 'EUR')"}
    assert report["cross_file_on"]["total"] == report["retrieval_on"]["total"]


def test_eval_runs_on_the_embedded_model(isolated_config: object, small_repo: Path) -> None:
    # Offline: no endpoint, so both evaluations go to the real embedded model.
    env = cli_env(None, AURELIS_DEADLINE="300")

    humaneval = run_cli(
        ["eval", "humaneval", "--limit", "2", "--seed", "1", "--json"], env, timeout=600
    )
    lines = run_cli(
        ["eval", "lines", str(small_repo), "--positions", "2", "--json"], env, timeout=600
    )

    assert humaneval.returncode == 0, humaneval.stderr
    report = json.loads(humaneval.stdout)
    assert report["total"] == 2 and len(report["problems"]) == 2
    # Whatever the small model answers, each answer was run against the problem's tests.
    assert {row["outcome"] for row in report["problems"]} <= {"passed", "failed", "timeout"}
    assert lines.returncode == 0, lines.stderr
    on, off = json.loads(lines.stdout)["retrieval_on"], json.loads(lines.stdout)["retrieval_off"]
    assert on["total"] == off["total"] >= 1
    assert on["p50"] > 0  # a real model took real time


def _by_meaning(text: str) -> list[float]:
    """Two directions: about money owed, or about anything else."""
    owing = {"owes", "outstanding", "balance", "debt"} & set(text.lower().replace("_", " ").split())
    return [1.0, 0.0] if owing else [0.0, 1.0]


def test_next_line_completion_fuses_embeddings_when_they_are_on(
    thread_server: ModelServer, isolated_config: object, tmp_path: Path
) -> None:
    root = tmp_path / "books"
    (root / "billing").mkdir(parents=True)
    # No word in common with report.py: only the embeddings can find it from there.
    (root / "billing" / "ledger.py").write_text(
        'settle_outstanding_balance = partial(pay_debt, order="oldest first")\n'
    )
    body = "".join(f"    value_{n} = compute_{n}(books)\n" for n in range(6))
    (root / "report.py").write_text(
        "import os\n\n\ndef monthly(books):\n    # what each customer still owes us\n" + body
    )
    thread_server.set_embedder("embed-test", _by_meaning)
    thread_server.set_default("*", Reply(content="value = 1"))

    result = run_cli(
        ["eval", "lines", str(root), "--positions", "2", "--json"],
        cli_env(thread_server, AURELIS_RETRIEVAL_EMBEDDINGS_MODEL="embed-test"),
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["embeddings"] == "embed-test"
    chats = [str(r.body) for r in thread_server.requests if r.body.get("model") != "embed-test"]
    on, off = chats[0::2], chats[1::2]  # each position: retrieval on, then off
    assert len(on) == len(off) == 2
    assert all("settle_outstanding_balance" in prompt for prompt in on)
    assert not any("settle_outstanding_balance" in prompt for prompt in off)
