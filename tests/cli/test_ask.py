"""`aurelis ask` and the task commands, in process, against the loopback model server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.conftest import TEST_TOKEN
from typer.testing import Result

from aurelis.cli.ask import offline_note
from aurelis.core.config import AurelisConfig, load_config
from aurelis.models.prompts import SYSTEM_PROMPTS
from aurelis.models.types import ModelType, TaskType
from aurelis.testing import ModelServer, Reply

Invoke = Callable[..., Result]
ANSWER = "Here:\n```python\ndef f(n):\n    return n\n```"
RESPONSE_FIELDS = {"content", "model_used", "tokens_used", "processing_time", "cached", "metadata"}


@pytest.fixture(autouse=True)
def scripted(thread_server: ModelServer, cli_remote: AurelisConfig) -> ModelServer:
    thread_server.set_default("*", Reply(content=ANSWER))
    return thread_server


def _user_message(server: ModelServer) -> str:
    return server.requests[-1].last_user_message


def test_json_prints_exactly_one_object_with_the_response_fields(
    invoke: Invoke, scripted: ModelServer
) -> None:
    result = invoke(["ask", "--json", "Write a function that adds two numbers"])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    payload = json.loads(result.stdout)
    assert set(payload) == RESPONSE_FIELDS
    assert payload["content"] == ANSWER
    assert payload["model_used"] == "codestral-2501"
    assert payload["tokens_used"] > 0 and payload["cached"] is False
    assert payload["metadata"]["task_type"] == "code_generation"
    assert result.stderr == ""


def test_piped_output_is_the_plain_answer_then_a_summary_on_stderr(invoke: Invoke) -> None:
    result = invoke(["generate", "--no-stream", "a function that adds two numbers"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "\x1b[" not in result.stdout
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("model: codestral-2501 · tokens: ")
    assert " · time: " in summary and summary.endswith("task: code_generation")


def test_ask_routes_by_the_detected_task(invoke: Invoke, scripted: ModelServer) -> None:
    result = invoke(["ask", "Explain what a closure is"])
    assert result.exit_code == 0, result.stderr
    assert scripted.requests[-1].model == "cohere/cohere-command-r-08-2024"
    # Piped stderr carries only the summary; the detected task is in it.
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.strip().endswith("task: explanation")


def test_ask_task_option_skips_detection(invoke: Invoke, scripted: ModelServer) -> None:
    result = invoke(["ask", "--task", "analysis", "Explain what a closure is"])
    assert result.exit_code == 0, result.stderr
    assert scripted.requests[-1].model == "openai/gpt-4o"


@pytest.mark.parametrize(
    ("command", "task", "deployment"),
    [
        ("generate", TaskType.CODE_GENERATION, "mistral-ai/Codestral-2501"),
        ("explain", TaskType.EXPLANATION, "cohere/cohere-command-r-08-2024"),
        ("document", TaskType.DOCUMENTATION, "cohere/cohere-command-r-08-2024"),
        ("refactor", TaskType.REFACTORING, "mistral-ai/Codestral-2501"),
        ("optimize", TaskType.CODE_OPTIMIZATION, "mistral-ai/Codestral-2501"),
        ("test", TaskType.TESTING, "mistral-ai/Codestral-2501"),
        ("analyze", TaskType.ANALYSIS, "openai/gpt-4o"),
    ],
)
def test_each_task_command_sends_its_task(
    invoke: Invoke, scripted: ModelServer, command: str, task: TaskType, deployment: str
) -> None:
    result = invoke([command, "--json", "hello"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["metadata"]["task_type"] == task.value
    recorded = scripted.requests[-1]
    assert recorded.model == deployment
    assert recorded.messages[0]["content"] == SYSTEM_PROMPTS[task]


def test_a_dash_reads_the_prompt_from_stdin(invoke: Invoke, scripted: ModelServer) -> None:
    result = invoke(["ask", "--json", "-"], input="explain the GIL\n")
    assert result.exit_code == 0, result.stderr
    assert _user_message(scripted) == "explain the GIL"


def test_file_lines_become_redacted_context(
    invoke: Invoke, scripted: ModelServer, tmp_path: Path
) -> None:
    source = tmp_path / "app.py"
    secret = "ghp_" + "a" * 36
    source.write_text(f"first = 1\nTOKEN = '{secret}'\nthird = 3\nfourth = 4\n")
    result = invoke(["explain", "--json", "--file", str(source), "--lines", "2-3"])
    assert result.exit_code == 0, result.stderr
    sent = _user_message(scripted)
    assert "third = 3" in sent and "TOKEN" in sent
    assert "first = 1" not in sent and "fourth = 4" not in sent
    assert secret not in sent
    # With only --file, the command's own prompt is used.
    assert sent.endswith("Explain this code.")
    metadata = json.loads(result.stdout)["metadata"]
    assert metadata["file"] == str(source) and metadata["lines"] == "2-3"


def test_model_system_temperature_and_max_tokens_reach_the_endpoint(
    invoke: Invoke, scripted: ModelServer
) -> None:
    result = invoke(
        [
            "ask",
            "--json",
            "--model",
            "gpt-4o",
            "--system",
            "Be terse.",
            "--temperature",
            "0.7",
            "--max-tokens",
            "50",
            "hello",
        ]
    )
    assert result.exit_code == 0, result.stderr
    body = scripted.requests[-1].body
    assert body["model"] == "openai/gpt-4o"
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert body["temperature"] == 0.7 and body["max_tokens"] == 50
    assert json.loads(result.stdout)["model_used"] == "gpt-4o"


def test_stream_option_streams_the_answer(invoke: Invoke, scripted: ModelServer) -> None:
    result = invoke(["generate", "--stream", "a function"])
    assert result.exit_code == 0, result.stderr
    assert scripted.requests[-1].stream is True
    assert result.stdout == ANSWER + "\n"
    assert "tokens: ~" in result.stderr


def test_a_streamed_fallback_answer_names_the_model_that_answered(
    invoke: Invoke, scripted: ModelServer
) -> None:
    scripted.set_default("mistral-ai/Codestral-2501", Reply(status=503))
    result = invoke(["generate", "--stream", "a function"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "gpt-4o-mini" in result.stderr and "codestral" not in result.stderr


def test_a_repeated_request_is_cached_unless_no_cache(
    invoke: Invoke, scripted: ModelServer
) -> None:
    first = json.loads(invoke(["ask", "--json", "hello cache"]).stdout)
    second = json.loads(invoke(["ask", "--json", "hello cache"]).stdout)
    assert (first["cached"], second["cached"]) == (False, True)
    assert len(scripted.requests) == 1
    third = invoke(["ask", "--json", "--no-cache", "hello cache"])
    assert json.loads(third.stdout)["cached"] is False
    assert len(scripted.requests) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "--model", "gpt-5", "hi"], "unknown model 'gpt-5'"),
        (["ask", "--task", "poetry", "hi"], "unknown task 'poetry'"),
        (["ask", "--temperature", "3", "hi"], "--temperature"),
        (["ask", "--max-tokens", "0", "hi"], "--max-tokens"),
        (["ask"], "missing PROMPT"),
        (["ask", "--lines", "1-2", "hi"], "--lines needs --file"),
        (["explain", "--file", "/nonexistent/x.py"], "does not exist"),
        (["ask", "--bogus"], "No such option"),
    ],
)
def test_usage_errors_exit_2_with_one_error_line_and_a_hint(
    invoke: Invoke, args: list[str], message: str
) -> None:
    result = invoke(args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and message in lines[0]
    assert lines[1].startswith("hint: ") and len(lines) == 2
    assert result.stdout == ""


def test_an_empty_stdin_prompt_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke(["ask", "-"], input="  \n")
    assert result.exit_code == 2 and "empty" in result.stderr


def test_a_model_failure_exits_1_without_a_traceback(invoke: Invoke, scripted: ModelServer) -> None:
    scripted.set_default("*", Reply(status=500))
    result = invoke(["ask", "hello"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "500" in errors[0]
    assert "hint: " in result.stderr and "Traceback" not in result.stderr


def test_debug_adds_the_traceback(invoke: Invoke, scripted: ModelServer) -> None:
    scripted.set_default("*", Reply(status=500))
    result = invoke(["--debug", "ask", "hello"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().splitlines()[-2].startswith("error: ")


def test_a_rejected_token_exits_1_naming_its_source_not_its_value(
    invoke: Invoke, scripted: ModelServer
) -> None:
    scripted.token = "another-token-987654321"
    result = invoke(["--debug", "ask", "hello"])
    assert result.exit_code == 1
    assert "AURELIS_TOKEN" in result.stderr
    assert TEST_TOKEN not in result.stderr + result.stdout


def test_offline_note_explains_why_an_explicit_model_is_not_used() -> None:
    offline = load_config(provider="local")
    assert "local model answers instead of gpt-4o" in (
        offline_note(offline, ModelType.GPT_4O) or ""
    )
    assert offline_note(offline, None) is None
    remote = load_config(provider="azure")
    assert offline_note(remote, ModelType.GPT_4O) is None
