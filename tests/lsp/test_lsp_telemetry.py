"""Metrics of a running language server: Prometheus on 127.0.0.1 when `metrics_port` is set,
nothing listening when it is not; an untrusted project cannot turn it on."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path

from lsprotocol import types
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from tests.lsp.harness import AurelisTestClient
from tests.team.redis_process import free_port

from aurelis.testing import ModelServer, Reply

CODE = "def add(a, b):\n    return \n"
CURSOR = types.Position(line=1, character=11)


def _scrape(port: int) -> list[Sample]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode("utf-8")
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        sample.value
        for sample in samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def _accept_one(lsp: AurelisTestClient, model: ModelServer, project: Path) -> None:
    model.set_default("*", Reply(content="a + b"))
    uri = lsp.open(project / "pkg" / "sum.py", CODE)
    item = (await lsp.inline(uri, CURSOR)).items[0]
    lsp.protocol.notify("aurelis/didShowCompletion", {"id": item.command.arguments[0]})
    lsp.edit(uri, types.Range(start=CURSOR, end=CURSOR), "a + b")
    await lsp.command(item.command.command, *item.command.arguments)


async def test_a_scrape_shows_requests_durations_and_suggestion_events(
    start_lsp, model: ModelServer, project: Path
) -> None:
    port = free_port()
    checks = {"AURELIS_SUGGESTION_RETENTION_CHECKS": "[0.1, 0.3]"}
    lsp = await start_lsp(env={"AURELIS_METRICS_PORT": str(port), **checks})
    await _accept_one(lsp, model, project)

    samples = await _scrape_once_checked(port)

    request = {"model": "codestral-2501", "task": "code_completion", "outcome": "answered"}
    assert _value(samples, "aurelis_requests_total", **request) == 1
    assert _value(samples, "aurelis_request_duration_seconds_count", **request) == 1
    assert _value(samples, "aurelis_request_duration_seconds_sum", **request) > 0
    assert _value(samples, "aurelis_tokens_total", model="codestral-2501", direction="in") > 0
    suggestion = {"model": "codestral-2501", "language": "python", "dialect": "chat"}
    for event in ("offered", "shown", "accepted"):
        assert _value(samples, "aurelis_inline_suggestions_total", event=event, **suggestion) == 1
    accepted = _value(samples, "aurelis_inline_suggestion_chars_total", kind="accepted")
    assert accepted == len("a + b")
    for check in ("retained_early", "retained_final"):
        kept = _value(samples, "aurelis_inline_suggestion_chars_total", kind=check, **suggestion)
        assert kept == len("a + b")
    assert _value(samples, "aurelis_breaker_state", model="codestral-2501") == 0


async def test_nothing_listens_without_metrics_port_and_an_untrusted_project_cannot_open_one(
    start_lsp, model: ModelServer, project: Path
) -> None:
    port = free_port()
    (project / ".aurelis.toml").write_text(f"metrics_port = {port}\n", encoding="utf-8")
    lsp = await start_lsp()
    await _accept_one(lsp, model, project)

    refused = await asyncio.to_thread(_refused, port)

    assert refused
    warnings = " ".join(message.message for message in lsp.messages)
    assert "metrics_port" in warnings


async def _scrape_once_checked(port: int, within: float = 20.0) -> list[Sample]:
    """A scrape taken after the final retention check has been counted."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        samples = await asyncio.to_thread(_scrape, port)
        final = _value(samples, "aurelis_inline_suggestion_chars_total", kind="retained_final")
        if final or asyncio.get_running_loop().time() > deadline:
            return samples
        await asyncio.sleep(0.1)


def _refused(port: int) -> bool:
    try:
        _scrape(port)
    except OSError:
        return True
    return False
