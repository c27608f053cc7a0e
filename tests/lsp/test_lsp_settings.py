"""The `aurelis` settings section: initializationOptions, workspace/configuration and
didChangeConfiguration, with invalid values named and the previous value kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types
from tests.conftest import TEST_TOKEN
from tests.lsp.harness import AurelisTestClient

from aurelis.testing import ModelServer, Reply


@pytest.fixture
def second_model() -> Iterator[ModelServer]:
    server = ModelServer(token=TEST_TOKEN).start_in_thread()
    yield server
    server.stop_thread()


def _messages(client: AurelisTestClient) -> list[str]:
    return [message.message for message in client.messages]


async def _complete(client: AurelisTestClient, uri: str) -> None:
    await client.inline(uri, types.Position(line=0, character=4))


async def test_initialization_options_route_tasks_to_other_models(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(
        init_options={"models": {"routing": {"code_completion": "gpt-4o-mini"}}}
    )
    model.set_default("*", Reply(content="1"))
    uri = lsp.open(project / "pkg" / "r.py", "x = ")

    await _complete(lsp, uri)

    assert model.requests[0].model == "openai/gpt-4o-mini"


async def test_invalid_settings_are_named_and_the_rest_still_apply(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(
        init_options={
            "provider": "cloud",
            "inlineCompletion": {"debounceMs": "fast"},
            "models": {"routing": {"code_completion": "gpt-9"}},
            "cache": {"enabled": False},
        }
    )
    model.set_default("*", Reply(content="1"))
    uri = lsp.open(project / "pkg" / "r.py", "x = ")

    await lsp.wait_for(lambda: len(lsp.messages) >= 3)
    await _complete(lsp, uri)

    messages = "\n".join(_messages(lsp))
    assert "aurelis.provider" in messages and "'cloud'" in messages
    assert "aurelis.inlineCompletion.debounceMs" in messages
    assert "aurelis.models.routing" in messages and "gpt-9" in messages
    assert model.requests[0].model == "mistral-ai/Codestral-2501"  # defaults kept
    status = await lsp.wait_for_status(lambda s: True)
    assert status["provider"] == "azure" and status["offline"] is False


async def test_did_change_configuration_applies_pushed_settings(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="1"))
    uri = lsp.open(project / "pkg" / "r.py", "x = ")

    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"aurelis": {"models": {"routing": {"code_completion": "mistral-nemo"}}}}
        )
    )
    await _complete(lsp, uri)
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"aurelis": {}})
    )
    lsp.type_at_end(uri, "1")
    await lsp.inline(uri, types.Position(line=0, character=5))

    assert [r.model for r in model.requests] == [
        "mistral-ai/Mistral-Nemo",
        "mistral-ai/Codestral-2501",
    ]


async def test_settings_are_pulled_when_the_client_pushes_none(
    start_lsp, model: ModelServer, project: Path
) -> None:
    # Statuses are counted below: the index, which publishes one when built, stays off.
    no_index = {"enabled": False}
    lsp: AurelisTestClient = await start_lsp(
        init_options={"index": no_index},
        configuration={
            "": {"aurelis": {"inlineCompletion": {"enabled": False}, "index": no_index}}
        },
    )
    uri = lsp.open(project / "pkg" / "r.py", "x = ")
    await lsp.wait_for(lambda: len(lsp.statuses) >= 2)  # after initialized, after the pull

    first = await lsp.inline(uri, types.Position(line=0, character=4))
    lsp.set_configuration({"aurelis": {"inlineCompletion": {"enabled": True}, "index": no_index}})
    lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    model.set_default("*", Reply(content="1"))
    await lsp.wait_for(lambda: len(lsp.statuses) >= 3)  # after the second pull
    second = await lsp.inline(uri, types.Position(line=0, character=4))

    assert list(first.items) == []
    assert [item.insert_text for item in second.items] == ["1"]


async def test_the_endpoint_setting_moves_requests_to_another_server(
    lsp: AurelisTestClient, model: ModelServer, second_model: ModelServer, project: Path
) -> None:
    second_model.set_default("*", Reply(content="from the second server"))
    uri = lsp.open(project / "pkg" / "r.py", "x = ")

    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"aurelis": {"endpoint": second_model.url}})
    )
    status = await lsp.wait_for_status(lambda s: s["endpoint"] == second_model.url)
    result = await lsp.inline(uri, types.Position(line=0, character=4))

    assert status["offline"] is False
    assert [item.insert_text for item in result.items] == ["from the second server"]
    assert model.requests == [] and len(second_model.requests) == 1


async def test_provider_local_is_reported_as_offline(lsp: AurelisTestClient) -> None:
    lsp.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"aurelis": {"provider": "local"}})
    )

    status = await lsp.wait_for_status(lambda s: s["provider"] == "local")

    assert status["offline"] is True and status["endpoint"] is None
    assert list(status["models"]) == ["local"]
