"""`aurelis/status`, orchestrator errors as one clear message, work-done progress and
cancelling a long action (from the progress UI or with `$/cancelRequest`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from tests.lsp.harness import AurelisTestClient, capabilities

from aurelis.testing import ModelServer, Reply

EXPLAIN = {"position": {"line": 3, "character": 4}}


async def test_status_after_initialize_describes_provider_and_models(
    lsp: AurelisTestClient, model: ModelServer
) -> None:
    status = await lsp.wait_for_status(lambda s: True)

    assert status["provider"] == "azure"
    assert status["endpoint"] == model.url
    assert status["offline"] is False and status["busy"] is False and status["last_error"] is None
    assert status["models"]["codestral-2501"] == {
        "healthy": True,
        "breaker": "closed",
        "rate_limit_remaining": None,
    }
    assert {"gpt-4o", "cohere-command-r"} <= set(status["models"])


async def test_status_goes_busy_during_a_call_and_reports_rate_limits_after(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="## ok", latency=1))
    model.enforce_rate_limit("*", per_minute=15)
    uri = lsp.open(project / "pkg" / "calc.py")

    pending = asyncio.ensure_future(lsp.command("aurelis.explain", {"uri": uri, **EXPLAIN}))
    await lsp.wait_for_status(lambda s: s["busy"])
    await pending
    after = await lsp.wait_for_status(
        lambda s: (
            not s["busy"] and s["models"]["cohere-command-r"]["rate_limit_remaining"] is not None
        )
    )

    assert after["models"]["cohere-command-r"]["rate_limit_remaining"] == 14


async def test_authentication_failure_names_the_variable_to_set(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(status=401))
    uri = lsp.open(project / "pkg" / "calc.py")

    with pytest.raises(JsonRpcException) as raised:
        await lsp.command("aurelis.explain", {"uri": uri, **EXPLAIN})

    assert raised.value.code == -32803
    assert "AURELIS_TOKEN" in raised.value.message
    status = await lsp.wait_for_status(lambda s: s["last_error"] is not None)
    assert "AURELIS_TOKEN" in status["last_error"]


async def test_a_retired_endpoint_says_how_to_configure_another(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(status=410))
    uri = lsp.open(project / "pkg" / "calc.py")

    with pytest.raises(JsonRpcException) as raised:
        await lsp.command("aurelis.refactor", {"uri": uri, **EXPLAIN})

    assert "retired" in raised.value.message and "AURELIS_ENDPOINT" in raised.value.message
    model.set_default("*", Reply(content="## back"))
    assert await lsp.command("aurelis.explain", {"uri": uri, **EXPLAIN}) == {"markdown": "## back"}
    await lsp.wait_for_status(lambda s: s["last_error"] is None and not s["busy"])


async def test_long_actions_report_cancellable_progress_and_cancel_stops_the_model(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="never", latency=30))
    uri = lsp.open(project / "pkg" / "calc.py")
    pending = asyncio.ensure_future(lsp.command("aurelis.explain", {"uri": uri, **EXPLAIN}))
    token = await lsp.wait_for(lambda: next(iter(lsp.progress_reports), None))
    await lsp.wait_for(lambda: model.in_flight == 1)
    begin = lsp.progress_reports[token][0]
    assert begin["kind"] == "begin" and begin["cancellable"] is True and "Explain" in begin["title"]

    lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))

    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    await lsp.wait_for(lambda: model.in_flight == 0)
    assert lsp.progress_reports[token][-1] == {"kind": "end", "message": "cancelled"}


async def test_cancel_request_stops_a_command_and_its_model_call(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.script("*", Reply(content="never", latency=30))
    uri = lsp.open(project / "pkg" / "calc.py")
    pending = asyncio.ensure_future(
        lsp.command("aurelis.optimize", {"uri": uri, **EXPLAIN}, msg_id="cmd-1")
    )
    await lsp.wait_for(lambda: model.in_flight == 1)

    lsp.cancel("cmd-1")

    with pytest.raises(JsonRpcRequestCancelled):
        await pending
    await lsp.wait_for(lambda: model.in_flight == 0)
    await lsp.wait_for_status(lambda s: not s["busy"])
    assert lsp.applied_edits == []


async def test_clients_without_progress_support_still_run_actions(
    start_lsp, model: ModelServer, project: Path
) -> None:
    lsp: AurelisTestClient = await start_lsp(client_capabilities=capabilities(progress=False))
    model.set_default("*", Reply(content="## fine"))
    uri = lsp.open(project / "pkg" / "calc.py")

    assert await lsp.command("aurelis.explain", {"uri": uri, **EXPLAIN}) == {"markdown": "## fine"}
    assert lsp.progress_reports == {}
