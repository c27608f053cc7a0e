"""Suggestion outcomes for a team: two language servers on one real Redis build one
acceptance table, which `aurelis usage --suggestions` reads back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig
from tests.conftest import TEST_TOKEN, server_env
from tests.lsp.harness import SERVER_COMMAND, SERVER_DIR, TIMEOUT, capabilities, make_client
from typer.testing import CliRunner

from aurelis.cli.main import app
from aurelis.core.config import AurelisConfig
from aurelis.testing import ModelServer, Reply

CODE = "def total(a, b):\n    return \n"
CURSOR = types.Position(line=1, character=11)


@pytest.fixture
async def model_thread() -> AsyncIterator[ModelServer]:
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    server.set_default("*", Reply(content="a + b"))
    yield server
    server.stop_thread()


async def _final_check_shared(redis_url: str, within: float = 20.0) -> None:
    """Wait until a final retention check has reached Redis (checks run, then a flush)."""
    client = redis.asyncio.Redis.from_url(redis_url)
    deadline = asyncio.get_running_loop().time() + within
    try:
        while asyncio.get_running_loop().time() < deadline:
            for key in await client.keys("aurelis:*:suggestions:*"):
                fields = await client.hkeys(key)
                if any(field.endswith(b"|retained_chars_final") for field in fields):
                    return
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()
    raise AssertionError("no retention check reached Redis")


async def _one_editor(model: ModelServer, redis_url: str, home: Path, *, accept: bool) -> None:
    """A language server with its own data directory: shows one suggestion, maybe accepts."""
    env = server_env(
        model,
        PYTHONPATH=str(SERVER_DIR),
        AURELIS_CACHE_ENABLED="false",
        AURELIS_REDIS_URL=redis_url,
        AURELIS_SUGGESTION_RETENTION_CHECKS="[0.2, 0.4]",
        XDG_DATA_HOME=str(home),
    )
    config = ClientServerConfig(
        server_command=SERVER_COMMAND, server_env=env, client_factory=make_client
    )
    client = await config.start()
    try:
        root = home / "project"
        root.mkdir(parents=True)
        await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(capabilities=capabilities(), root_uri=root.as_uri())
            ),
            TIMEOUT,
        )
        uri = client.open(root / "calc.py", CODE)
        item = (await client.inline(uri, CURSOR)).items[0]
        client.protocol.notify("aurelis/didShowCompletion", {"id": item.command.arguments[0]})
        if accept:
            client.edit(uri, types.Range(start=CURSOR, end=CURSOR), str(item.insert_text))
            await client.command(item.command.command, *item.command.arguments)
            await _final_check_shared(redis_url)
        await asyncio.wait_for(client.shutdown_session(), TIMEOUT)  # writes what is pending
    finally:
        await client.stop()


async def test_two_servers_on_one_redis_show_one_acceptance_table(
    isolated_config: AurelisConfig,
    redis_url: str,
    model_thread: ModelServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await asyncio.gather(
        _one_editor(model_thread, redis_url, tmp_path / "alice", accept=True),
        _one_editor(model_thread, redis_url, tmp_path / "bob", accept=False),
    )
    # The reader shares neither editor's data directory: the table comes from Redis.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "reader"))
    isolated_config.update(
        {"endpoint": model_thread.url, "token": TEST_TOKEN, "redis_url": redis_url}
    )

    result = await asyncio.to_thread(CliRunner().invoke, app, ["usage", "--suggestions", "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)["suggestions"]
    assert report["shared_through"] == redis_url
    [row] = report["today"]
    assert (row["model"], row["language"]) == ("codestral-2501", "python")
    assert (row["offered"], row["shown"], row["accepted"]) == (2, 2, 1)
    assert row["acceptance_rate"] == 0.5
    assert row["accepted_chars"] == row["retained_chars"] == len("a + b")
    assert report["last_7_days"] == report["today"]
