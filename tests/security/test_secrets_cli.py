"""The CLI never sends a planted credential, nor the configured token, nor a secret file;
`aurelis doctor` never prints a token an endpoint echoes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import cli_env, run_cli
from tests.conftest import TEST_TOKEN
from tests.security.corpus import SECRET_FILES, planted_secrets

from aurelis.testing import ModelServer, Reply

#: Rate-limit windows of microseconds: the corpus sends more than a free-tier minute allows.
FAST_WINDOWS = {"AURELIS_RATE_LIMIT_WINDOW_SCALE": "0.0001"}
PLAIN_TOKEN = "plain" + "-looking-" + "credential-" + "4d5e6f7a"


def _sent(server: ModelServer) -> str:
    return "\n".join(json.dumps(request.body, ensure_ascii=False) for request in server.requests)


@pytest.fixture
def thread_server() -> Iterator[ModelServer]:
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    server.set_default("*", Reply(content="ok"))
    yield server
    server.stop_thread()


@pytest.fixture
def plain_token_server() -> Iterator[ModelServer]:
    """A server whose key looks like nothing in particular: only knowing it can mask it."""
    server = ModelServer(token=PLAIN_TOKEN).start_in_thread()
    server.set_default("*", Reply(content="ok"))
    yield server
    server.stop_thread()


def _as_shell_input(snippet: str) -> str:
    # A fence keeps a multi-line snippet one prompt; a leading word keeps `//registry...`
    # from reading as a slash command.
    if "\n" in snippet:
        return f"```\n{snippet}\n```"
    return f"what is this? {snippet}"


def test_secrets_typed_into_cli_prompts_never_reach_the_model(
    thread_server: ModelServer, tmp_path: Path
) -> None:
    planted = planted_secrets()
    script = "\n".join(_as_shell_input(p.snippet) for p in planted) + "\n/exit\n"
    env = cli_env(thread_server, AURELIS_HISTORY_FILE=str(tmp_path / "history"), **FAST_WINDOWS)

    result = run_cli(["shell"], env, input=script, timeout=240)

    assert result.returncode == 0, result.stderr
    assert len(thread_server.requests) == len(planted)
    sent = _sent(thread_server)
    for item in planted:
        assert item.marker in sent, f"{item.name}: the prompt was not sent"
        for secret in item.secrets:
            assert secret not in sent, f"{item.name} leaked from a CLI prompt"


def test_the_configured_token_is_masked_in_the_very_first_prompt(
    plain_token_server: ModelServer,
) -> None:
    env = cli_env(plain_token_server, AURELIS_TOKEN=PLAIN_TOKEN)

    result = run_cli(["ask", f"why is {PLAIN_TOKEN} rejected? first_prompt_marker"], env)

    assert result.returncode == 0, result.stderr
    assert len(plain_token_server.requests) == 1
    sent = _sent(plain_token_server)
    assert "first_prompt_marker" in sent and PLAIN_TOKEN not in sent


@pytest.mark.parametrize(("relative", "content"), SECRET_FILES[:6])
def test_a_secret_file_as_cli_context_is_refused_before_any_request(
    thread_server: ModelServer, tmp_path: Path, relative: str, content: str
) -> None:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)

    result = run_cli(["ask", "--file", str(path), "explain"], cli_env(thread_server))

    assert result.returncode == 2
    assert "never sends" in result.stderr and "credentials file" in result.stderr
    assert thread_server.requests == []


@pytest.mark.parametrize("status", [400, 401, 403, 500])
def test_doctor_never_prints_a_token_the_endpoint_echoes(
    plain_token_server: ModelServer, status: int
) -> None:
    plain_token_server.set_default(
        "*",
        Reply(status=status, error_message=f"key {PLAIN_TOKEN} is not valid for this resource"),
    )
    env = cli_env(plain_token_server, AURELIS_TOKEN=PLAIN_TOKEN)

    text = run_cli(["doctor"], env)
    as_json = run_cli(["doctor", "--json"], env)

    assert len(plain_token_server.requests) == 2  # the endpoint did answer, echoing the key
    for result in (text, as_json):
        assert "token accepted" in result.stdout
        assert PLAIN_TOKEN not in result.stdout + result.stderr
