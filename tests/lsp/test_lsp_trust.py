"""Project trust in the real language server: roots from `initialize`, each trusted on its
own, restricted mode, the trust commands, the warning and the status field."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig
from tests.conftest import TEST_TOKEN, server_env
from tests.lsp.harness import (
    SERVER_COMMAND,
    SERVER_DIR,
    TIMEOUT,
    AurelisTestClient,
    capabilities,
    make_client,
)

from aurelis.core.trust import TrustStore, read_project_file
from aurelis.testing import ModelServer, Reply

SOURCE = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def attacker() -> Iterator[ModelServer]:
    server = ModelServer().start_in_thread()
    server.set_default("*", Reply(content="attacker"))
    yield server
    server.stop_thread()


def folder(base: Path, name: str, settings: str | None = None) -> Path:
    root = base / name
    root.mkdir()
    (root / "mod.py").write_text(SOURCE)
    if settings is not None:
        (root / ".aurelis.toml").write_text(settings)
    return root


def write_user_file(text: str) -> None:
    Path(os.environ["AURELIS_CONFIG_FILE"]).write_text(text)


def trust(root: Path) -> None:
    TrustStore().trust(read_project_file(root / ".aurelis.toml"))


Start = Callable[..., Any]


@pytest.fixture
async def start(model: ModelServer, tmp_path: Path) -> AsyncIterator[Start]:
    """A server whose user endpoint is in the user file (not the environment, which would
    outrank any project file), and whose AURELIS_PROJECT_ROOT names a trusted project the
    server must ignore: its roots come from `initialize` alone."""
    model.set_default("*", Reply(content="user"))
    write_user_file(f'endpoint = "{model.url}"\n')
    decoy = folder(tmp_path, "decoy", 'endpoint = "http://127.0.0.1:9/v1"\n')
    trust(decoy)
    env = server_env(
        model,
        AURELIS_CACHE_ENABLED="false",
        AURELIS_PROJECT_ROOT=str(decoy),
        PYTHONPATH=str(SERVER_DIR),
    )
    env.pop("AURELIS_ENDPOINT")
    clients: list[AurelisTestClient] = []

    async def launch(roots: list[Path], init_options: Any = None) -> AurelisTestClient:
        config = ClientServerConfig(
            server_command=SERVER_COMMAND, server_env=env, client_factory=make_client
        )
        client = await config.start()
        clients.append(client)
        params = types.InitializeParams(
            capabilities=capabilities(),
            root_uri=roots[0].as_uri() if roots else None,
            workspace_folders=[types.WorkspaceFolder(uri=r.as_uri(), name=r.name) for r in roots],
            initialization_options=init_options,
        )
        await asyncio.wait_for(client.initialize_session(params), TIMEOUT)
        return client

    yield launch
    for client in clients:
        try:
            await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
        except Exception:  # noqa: BLE001
            pass
        await client.stop()


async def explain(client: AurelisTestClient, root: Path) -> Any:
    uri = client.open(root / "mod.py")
    args = {"uri": uri, "position": {"line": 1, "character": 5}}
    return await client.command("aurelis.explain", args)


def trust_of(client: AurelisTestClient) -> Callable[[], dict[str, str] | None]:
    return lambda: client.statuses[-1].get("trust") if client.statuses else None


async def test_multi_root_trusts_each_root_on_its_own(
    start: Start, model: ModelServer, attacker: ModelServer, tmp_path: Path
) -> None:
    # The untrusted root comes first: were it honoured, its endpoint would win.
    hostile = folder(tmp_path, "hostile", f'endpoint = "{attacker.url}"\n')
    own = folder(tmp_path, "own", f'endpoint = "{model.url}"\nprovider = "azure"\n')
    trust(own)
    plain = folder(tmp_path, "plain")
    client = await start([hostile, own, plain])

    states = await client.wait_for(lambda: (t := trust_of(client)()) and str(hostile) in t and t)
    assert states == {
        str(hostile): "untrusted",
        str(own): "trusted",
        str(plain): "no-project-settings",
    }
    assert (await explain(client, hostile))["markdown"] == "user"
    assert attacker.requests == []
    assert not any(TEST_TOKEN in json.dumps(r.headers) for r in attacker.requests)

    warnings = [m for m in client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 1
    assert "endpoint" in warnings[0].message and str(hostile) in warnings[0].message
    assert f"aurelis trust {hostile}" in warnings[0].message


async def test_trust_and_untrust_commands_reload_the_settings(
    start: Start, model: ModelServer, attacker: ModelServer, tmp_path: Path
) -> None:
    repo = folder(tmp_path, "repo", f'endpoint = "{attacker.url}"\n')
    client = await start([repo])

    answer = await client.command("aurelis.trustProject", {"uri": repo.as_uri()})

    assert answer == {"trusted": [str(repo)]}
    assert trust_of(client)() == {str(repo): "trusted"}
    assert (await explain(client, repo))["markdown"] == "attacker"
    assert await client.command("aurelis.untrustProject") == {"untrusted": [str(repo)]}
    assert trust_of(client)() == {str(repo): "untrusted"}
    assert (await explain(client, repo))["markdown"] == "user"
    assert len(attacker.requests) == 1


async def test_saving_an_edited_settings_file_withdraws_trust(
    start: Start, model: ModelServer, attacker: ModelServer, tmp_path: Path
) -> None:
    repo = folder(tmp_path, "repo", f'endpoint = "{attacker.url}"\n')
    trust(repo)
    client = await start([repo])
    assert (await explain(client, repo))["markdown"] == "attacker"

    settings = repo / ".aurelis.toml"
    settings.write_text(settings.read_text() + "cache_ttl = 5\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=settings.as_uri())
        )
    )

    await client.wait_for(lambda: trust_of(client)() == {str(repo): "untrusted"})
    assert (await explain(client, repo))["markdown"] == "user"
    assert any("changed since you trusted it" in m.message for m in client.messages)


async def test_restricted_mode_honours_no_sensitive_project_setting(
    start: Start, model: ModelServer, attacker: ModelServer, tmp_path: Path
) -> None:
    repo = folder(tmp_path, "repo", f'endpoint = "{attacker.url}"\n')
    trust(repo)  # trusted in the store, but VS Code has not trusted the workspace
    client = await start([repo], {"workspaceTrusted": False})

    await client.wait_for(lambda: trust_of(client)() == {str(repo): "restricted"})
    assert (await explain(client, repo))["markdown"] == "user"
    assert attacker.requests == []
    with pytest.raises(JsonRpcException, match="restricted mode; trust it in VS Code first"):
        await client.command("aurelis.trustProject")


async def test_a_folder_outside_the_workspace_cannot_be_trusted_from_the_editor(
    start: Start, tmp_path: Path
) -> None:
    repo = folder(tmp_path, "repo")
    elsewhere = folder(tmp_path, "elsewhere", "cache_ttl = 1\n")
    client = await start([repo])

    with pytest.raises(JsonRpcException, match="not in a workspace folder"):
        await client.command("aurelis.trustProject", {"uri": elsewhere.as_uri()})
    assert TrustStore().trusted_digest((elsewhere / ".aurelis.toml").resolve()) is None


async def test_without_workspace_folders_no_project_file_applies(
    start: Start, model: ModelServer, tmp_path: Path
) -> None:
    # The decoy project in AURELIS_PROJECT_ROOT is trusted, but it is no workspace folder.
    client = await start([])
    await client.wait_for(lambda: trust_of(client)() == {})
    uri = client.open(tmp_path / "loose.py", SOURCE)
    answer = await client.command(
        "aurelis.explain", {"uri": uri, "position": {"line": 1, "character": 5}}
    )
    assert answer["markdown"] == "user"


async def test_the_warning_about_ignored_settings_is_sent_once_per_file_version(
    start: Start, model: ModelServer, attacker: ModelServer, tmp_path: Path
) -> None:
    repo = folder(tmp_path, "repo", f'endpoint = "{attacker.url}"\nlog_file = "/tmp/x.log"\n')
    client = await start([repo])

    def warnings() -> list[str]:
        return [m.message for m in client.messages if m.type == types.MessageType.Warning]

    await client.wait_for(lambda: warnings())
    # Requests, a settings change and untrust/trust cycles reload the settings: no repeat.
    for _ in range(2):
        assert (await explain(client, repo))["markdown"] == "user"
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"aurelis": {"request_timeout": 30}})
    )
    assert await client.command("aurelis.untrustProject") == {"untrusted": []}
    assert (await explain(client, repo))["markdown"] == "user"
    assert len(warnings()) == 1, warnings()
    assert "endpoint, log_file" in warnings()[0] and f"aurelis trust {repo}" in warnings()[0]

    # An edited file is another version: one new warning for it.
    settings = repo / ".aurelis.toml"
    settings.write_text(settings.read_text() + "cache_ttl = 5\n")
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=settings.as_uri())
        )
    )
    await client.wait_for(lambda: len(warnings()) == 2)
    assert (await explain(client, repo))["markdown"] == "user"
    assert len(warnings()) == 2 and attacker.requests == []


# --- trust per root: each folder's code goes where its own settings say ---------------------


@pytest.fixture
def team() -> Iterator[ModelServer]:
    """The endpoint a trusted folder names (a team's gateway, say)."""
    server = ModelServer().start_in_thread()
    server.set_default("*", Reply(content="team"))
    yield server
    server.stop_thread()


async def test_each_root_is_served_with_its_own_settings(
    start: Start, model: ModelServer, team: ModelServer, attacker: ModelServer, tmp_path: Path
) -> None:
    trusted = folder(tmp_path, "trusted", f'endpoint = "{team.url}"\nprovider = "azure"\n')
    trust(trusted)
    hostile = folder(tmp_path, "hostile", f'endpoint = "{attacker.url}"\n')
    plain = folder(tmp_path, "plain")
    client = await start([trusted, hostile, plain])
    loose = tmp_path / "loose.py"

    answers = {root.name: (await explain(client, root))["markdown"] for root in (trusted, plain)}
    answers["hostile"] = (await explain(client, hostile))["markdown"]
    uri = client.open(loose, SOURCE)
    outside = await client.command(
        "aurelis.explain", {"uri": uri, "position": {"line": 1, "character": 5}}
    )

    # The trusted folder's endpoint serves that folder alone; the others keep the user's.
    assert answers == {"trusted": "team", "plain": "user", "hostile": "user"}
    assert outside["markdown"] == "user"
    assert len(team.requests) == 1 and attacker.requests == []
    # The status shows the server's own settings, whichever folder's request published it.
    assert len({status["endpoint"] for status in client.statuses}) == 1
    team_prompt = json.dumps([r.messages for r in team.requests])
    assert "trusted/" in team_prompt  # the project tree it was sent is its own alone
    assert "plain/" not in team_prompt and "hostile/" not in team_prompt


async def test_inline_completion_follows_the_root_of_the_document(
    start: Start, model: ModelServer, team: ModelServer, tmp_path: Path
) -> None:
    trusted = folder(tmp_path, "trusted", f'endpoint = "{team.url}"\nprovider = "azure"\n')
    trust(trusted)
    plain = folder(tmp_path, "plain")
    client = await start([plain, trusted])

    for path in (plain / "mod.py", trusted / "mod.py", plain / "other.py"):
        uri = client.open(path, SOURCE)
        result = await client.inline(uri, types.Position(line=1, character=len("    return")))
        wanted = "team" if path.parent == trusted else "user"
        assert [item.insert_text for item in result.items] == [wanted], path

    assert len(team.requests) == 1


async def test_context_comes_only_from_the_requests_own_root_unless_allowed(
    start: Start, model: ModelServer, tmp_path: Path
) -> None:
    alpha, beta = folder(tmp_path, "alpha"), folder(tmp_path, "beta")
    # alpha holds a module beta's file imports by name, and an open file of its own.
    (alpha / "pricing.py").write_text("def price_in_alpha():\n    return 'ALPHA-IMPORTED'\n")
    (beta / "mod.py").write_text(SOURCE + "\nimport pricing\n")
    (beta / "notes.py").write_text("BETA_NOTE = 'BETA-OPEN-FILE'\n")
    client = await start([alpha, beta])
    client.open(alpha / "secret_plans.py", "ALPHA_PLAN = 'ALPHA-OPEN-FILE'\n")
    client.open(beta / "notes.py")

    await explain(client, beta)
    sent = json.dumps([r.messages for r in model.requests])
    assert "BETA-OPEN-FILE" in sent, "the request's own folder gives context"
    assert "ALPHA-OPEN-FILE" not in sent and "ALPHA-IMPORTED" not in sent
    assert "secret_plans" not in sent

    model.requests.clear()
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"aurelis": {"context": {"acrossRoots": True}}})
    )
    await explain(client, beta)
    allowed = json.dumps([r.messages for r in model.requests])
    assert "ALPHA-OPEN-FILE" in allowed and "ALPHA-IMPORTED" in allowed
