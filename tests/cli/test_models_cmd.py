"""`aurelis models`: catalog, routing with config overrides, health after real requests."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import Result

from aurelis.core.config import AurelisConfig
from aurelis.models.types import ModelType, TaskType
from aurelis.testing import ModelServer, Reply

Invoke = Callable[..., Result]


def _rows(result: Result) -> dict[str, dict]:
    assert result.exit_code == 0, result.stderr
    return {row["model"]: row for row in json.loads(result.stdout)["models"]}


def test_every_model_is_listed_with_its_routing(invoke: Invoke, cli_remote: AurelisConfig) -> None:
    rows = _rows(invoke(["models", "--json"]))
    assert list(rows) == [model.value for model in ModelType]
    codestral = rows["codestral-2501"]
    assert codestral["provider"] == "azure"
    assert codestral["deployment"] == "mistral-ai/Codestral-2501"
    assert codestral["context_window"] == 256_000
    assert "code_generation" in codestral["tasks"] and "testing" in codestral["tasks"]
    assert rows["local"]["provider"] == "local"


def test_config_overrides_show_up(invoke: Invoke, cli_remote: AurelisConfig) -> None:
    cli_remote.update(
        {"routing": {"documentation": "gpt-4o-mini"}, "deployments": {"gpt-4o-mini": "llama3.2:3b"}}
    )
    rows = _rows(invoke(["models", "--json"]))
    assert "documentation" in rows["gpt-4o-mini"]["tasks"]
    assert "documentation" not in rows["cohere-command-r"]["tasks"]
    assert rows["gpt-4o-mini"]["deployment"] == "llama3.2:3b"


def test_health_reflects_the_orchestrator_after_requests(
    invoke: Invoke, cli_remote: AurelisConfig, thread_server: ModelServer
) -> None:
    thread_server.set_default("*", Reply(headers={"x-ratelimit-remaining-requests": "7"}))
    assert invoke(["ask", "--model", "gpt-4o-mini", "--json", "hi"]).exit_code == 0
    rows = _rows(invoke(["models", "--json"]))
    assert rows["gpt-4o-mini"]["healthy"] is True
    assert rows["gpt-4o-mini"]["rate_limit_remaining"] is not None


def test_the_table_names_models_and_says_when_offline(invoke: Invoke) -> None:
    result = invoke(["models"])
    assert result.exit_code == 0, result.stderr
    for name in ("codestral-2501", "mistral-ai/Codestral-2501", "tasks routed here", "health"):
        assert name in result.stdout
    assert "offline" in result.stdout and "disabled (offline)" in result.stdout


def test_offline_every_task_is_shown_routed_to_local(invoke: Invoke) -> None:
    rows = _rows(invoke(["models", "--json"]))
    assert sorted(rows["local"]["tasks"]) == sorted(task.value for task in TaskType)
    assert rows["codestral-2501"]["tasks"] == []
    assert "code_generation" in rows["codestral-2501"]["tasks_when_online"]
