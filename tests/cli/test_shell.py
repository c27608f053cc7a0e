"""`aurelis shell`: scripted through a pipe, and driven through a pseudo-terminal like a
user (history across sessions, slash commands, multi-line input, Ctrl-C)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.cli.helpers import PtyProcess, cli_env
from typer.testing import Result

from aurelis.cli.shell_commands import ShellState, needs_more_input, run_command
from aurelis.core.config import AurelisConfig
from aurelis.models.prompts import SYSTEM_PROMPTS
from aurelis.models.types import ModelType, TaskType
from aurelis.testing import ModelServer, Reply

Invoke = Callable[..., Result]
Spawn = Callable[..., PtyProcess]
UP = "\x1b[A"
PROMPT = r"aurelis(\[[^\]]*\])?>"


def _wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


# --- commands and input rules, without a terminal ------------------------------------------
def test_slash_commands_change_the_session(tmp_path: Path) -> None:
    state = ShellState()
    assert run_command("/model gpt-4o", state).message == "model: gpt-4o"
    assert state.model is ModelType.GPT_4O
    assert run_command("/task testing", state).message == "task: testing"
    assert run_command("/system Be terse.", state).message == "system prompt: 'Be terse.'"
    source = tmp_path / "a.py"
    source.write_text("x = 1\ny = 2\n")
    outcome = run_command(f"/context {source} 2", state)
    assert outcome.message == "context: a.py:2-2 (1 line attached)"
    assert state.context is not None and state.context.text == "y = 2\n"
    outcome = run_command("/clear", state)
    assert outcome.clear_screen and (state.model, state.task, state.system, state.context) == (
        None,
        None,
        None,
        None,
    )
    assert run_command("/exit", state).exit and run_command("/stats", state).show_stats


def test_bad_slash_commands_are_errors_not_crashes(tmp_path: Path) -> None:
    state = ShellState()
    for line, fragment in [
        ("/model gpt-9", "unknown model"),
        ("/task nope", "unknown task"),
        (f"/context {tmp_path / 'none.py'}", "does not exist"),
        ("/frobnicate", "unknown command /frobnicate"),
    ]:
        outcome = run_command(line, state)
        assert outcome.error and fragment in (outcome.message or "")
    assert state == ShellState()


def test_needs_more_input_for_backslash_and_open_fences() -> None:
    assert needs_more_input("first \\")
    assert needs_more_input("```python\ndef f():")
    assert not needs_more_input("```python\ndef f(): pass\n```")
    assert not needs_more_input("plain question")


# --- scripted through stdin --------------------------------------------------------------
def test_piped_session_runs_commands_and_requests_in_order(
    invoke: Invoke, cli_remote: AurelisConfig, thread_server: ModelServer, tmp_path: Path
) -> None:
    thread_server.set_default("*", Reply(content="ANSWER"))
    source = tmp_path / "mod.py"
    source.write_text("alpha = 1\nbeta = 2\ngamma = 3\n")
    script = (
        "\n".join(
            [
                "/model gpt-4o-mini",
                "/task explanation",
                "what is a monad",
                f"/context {source} 2-3",
                "and this?",
                "/bogus",
                "```",
                "def f():",
                "    pass",
                "```",
                "/stats",
                "/exit",
                "never sent",
            ]
        )
        + "\n"
    )
    result = invoke(["shell"], input=script)
    assert result.exit_code == 0, result.stderr
    assert [r.model for r in thread_server.requests] == ["openai/gpt-4o-mini"] * 3
    first, second, third = thread_server.requests
    assert first.messages[0]["content"] == SYSTEM_PROMPTS[TaskType.EXPLANATION]
    assert first.last_user_message == "what is a monad"
    assert "beta = 2" in second.last_user_message and "alpha" not in second.last_user_message
    assert third.last_user_message.endswith("```\ndef f():\n    pass\n```")
    assert "unknown command /bogus" in result.stdout
    assert "ANSWER" in result.stdout and "session requests" in result.stdout
    assert "never sent" not in "".join(r.last_user_message for r in thread_server.requests)


def test_a_failed_request_does_not_end_the_session(
    invoke: Invoke, cli_remote: AurelisConfig, thread_server: ModelServer
) -> None:
    thread_server.set_default("*", Reply(status=401))
    result = invoke(["shell"], input="hello\n/model local\n")
    assert result.exit_code == 0
    assert "error: " in result.stdout and "model: local" in result.stdout


# --- through a pseudo-terminal ---------------------------------------------------------------
@pytest.fixture
def shell_env(thread_server: ModelServer, tmp_path: Path) -> dict[str, str]:
    return cli_env(thread_server, AURELIS_HISTORY_FILE=str(tmp_path / "history"))


def test_history_is_kept_across_sessions(spawn: Spawn, shell_env: dict[str, str]) -> None:
    first = spawn(["shell"], shell_env)
    first.expect(PROMPT)
    first.sendline("/model gpt-4o-mini")
    first.expect(r"model: gpt-4o-mini")
    first.expect(r"aurelis\[gpt-4o-mini\]>")
    first.sendline("/exit")
    assert first.wait() == 0
    assert "/model gpt-4o-mini" in Path(shell_env["AURELIS_HISTORY_FILE"]).read_text()

    second = spawn(["shell"], shell_env)
    second.expect(PROMPT)
    # Up twice recalls the previous session's "/model gpt-4o-mini" (its last line was /exit);
    # only a recalled line can make the shell answer with that model.
    second.send(UP + UP)
    second.send("\r")
    second.expect(r"model: gpt-4o-mini")
    second.expect(r"aurelis\[gpt-4o-mini\]>")
    second.send("\x04")  # Ctrl-D leaves
    assert second.wait() == 0


def test_ctrl_c_cancels_the_running_request_but_not_the_shell(
    spawn: Spawn, shell_env: dict[str, str], thread_server: ModelServer
) -> None:
    thread_server.set_default("*", Reply(latency=30, content="too late"))
    shell = spawn(["shell"], shell_env)
    shell.expect(PROMPT)
    shell.sendline("explain the event loop")
    shell.expect(r"task: explanation \(keyword \"explain the\"\) → model: cohere-command-r")
    _wait_for(lambda: thread_server.in_flight == 1)
    started = time.monotonic()
    shell.send("\x03")
    shell.expect(r"cancelled")
    assert time.monotonic() - started < 10
    # The request was abandoned upstream too: the server saw the client hang up.
    _wait_for(lambda: thread_server.in_flight == 0)
    assert shell.alive()

    thread_server.set_default("*", Reply(content="quick answer"))
    shell.expect(PROMPT)
    shell.sendline("explain it again")
    shell.expect(r"quick answer")
    shell.expect(r"model: cohere-command-r · tokens: ~\d+ · time: ")
    shell.sendline("/stats")
    shell.expect(r"session cancelled\W+1")
    shell.sendline("/exit")
    assert shell.wait() == 0
    assert "too late" not in shell.text


def test_multi_line_input_is_sent_as_one_prompt(
    spawn: Spawn, shell_env: dict[str, str], thread_server: ModelServer
) -> None:
    thread_server.set_default("*", Reply(content="ok"))
    shell = spawn(["shell"], shell_env)
    shell.expect(PROMPT)
    shell.send("first line\\\r")  # a trailing backslash continues
    shell.send("second line\x1b\r")  # Esc Enter inserts a newline
    shell.send("third line\r")
    shell.expect(r"model: ")
    _wait_for(lambda: len(thread_server.requests) == 1)
    assert thread_server.requests[0].last_user_message == "first line\nsecond line\nthird line"
    shell.send("```\r")  # an open fence: Enter keeps going until it is closed
    shell.send("x = 1\r")
    shell.send("```\r")
    _wait_for(lambda: len(thread_server.requests) == 2)
    assert thread_server.requests[1].last_user_message == "```\nx = 1\n```"
    shell.sendline("/exit")
    assert shell.wait() == 0


@pytest.mark.parametrize("mode", [["--no-stream"], []], ids=["whole", "streamed"])
def test_code_in_an_answer_is_highlighted_on_a_terminal(
    spawn: Spawn, thread_server: ModelServer, shell_env: dict[str, str], mode: list[str]
) -> None:
    thread_server.set_default(
        "*", Reply(content="Use:\n```python\ndef fib(n):\n    return n\n```", chunk_size=3)
    )
    process = spawn(["ask", *mode, "Explain fib"], shell_env)
    assert process.wait() == 0
    # Every remote call is streamed on the wire (docs/endpoints.md), whole answers too.
    assert thread_server.requests[-1].stream is True
    assert "task: explanation" in process.text  # the detected task, shown to people
    code_line = next(line for line in process.raw.splitlines() if "fib" in line and "def" in line)
    assert re.search(r"\x1b\[[0-9;]*m\s*def", code_line)
    assert "Use:" in process.text and "model: cohere-command-r · tokens: " in process.text


def test_ctrl_c_during_a_one_shot_request_exits_130(
    spawn: Spawn, thread_server: ModelServer, shell_env: dict[str, str]
) -> None:
    thread_server.set_default("*", Reply(latency=30))
    process = spawn(["ask", "--no-stream", "hello"], shell_env)
    _wait_for(lambda: thread_server.in_flight == 1)
    process.send("\x03")
    assert process.wait() == 130
    assert "error: cancelled" in process.text and "Traceback" not in process.text
