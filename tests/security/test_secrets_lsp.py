"""No planted credential reaches the model through the language server: not from the open
buffer, not from a workspace file read as context, not from a diagnostic message; and
files that are secrets by nature are never context and never the subject of an action.

Each check also asserts that the text around the secret (its marker) did reach the
model, so a request that simply left the snippet out cannot pass for redaction.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from tests.lsp.conftest import Starter
from tests.lsp.harness import TIMEOUT, AurelisTestClient, end_position
from tests.security.corpus import SECRET_FILES, Planted, planted_secrets

from aurelis.testing import ModelServer, Reply

PLANTED = planted_secrets()
_ATTEMPTS = 5


def _sent(model: ModelServer) -> str:
    """Everything the model server received, as it received it."""
    return "\n".join(json.dumps(request.body, ensure_ascii=False) for request in model.requests)


def _assert_masked(model: ModelServer, planted: Planted, where: str) -> None:
    sent = _sent(model)
    assert planted.marker in sent, f"{planted.name} ({where}): the snippet was not sent at all"
    for secret in planted.secrets:
        assert secret not in sent, f"{planted.name} leaked from {where}"


@pytest.fixture
async def lsp(start_lsp: Starter) -> AurelisTestClient:
    """A server whose rate-limit windows last milliseconds: the corpus sends more requests
    than a free-tier minute allows, and waiting for the window is not what is tested."""
    client: AurelisTestClient = await start_lsp(env={"AURELIS_RATE_LIMIT_WINDOW_SCALE": "0.0001"})
    return client


def test_the_corpus_has_at_least_forty_formats() -> None:
    assert len(PLANTED) >= 40
    assert len({planted.name for planted in PLANTED}) == len(PLANTED)


async def _explain_whole(client: AurelisTestClient, uri: str) -> None:
    whole = {"start": {"line": 0, "character": 0}, "end": end_position(client.texts[uri])}
    await client.command("aurelis.explain", {"uri": uri, "range": whole})


async def test_secrets_in_an_open_buffer_never_reach_the_model(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    for index, planted in enumerate(PLANTED):
        model.reset()
        model.set_default("*", Reply(content="ok"))
        uri = lsp.open(project / "pkg" / f"buffer_{index:02d}.py", planted.snippet + "\n")
        await _explain_whole(lsp, uri)
        _assert_masked(model, planted, "an action on the open buffer")
        await lsp.inline(uri, end_position(lsp.texts[uri]))
        _assert_masked(model, planted, "an inline completion in the buffer")


async def test_secrets_in_workspace_files_never_reach_the_model(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    for index, planted in enumerate(PLANTED):
        model.reset()
        model.set_default("*", Reply(content="ok"))
        module = f"stored_{index:02d}"
        (project / "pkg" / f"{module}.py").write_text(planted.snippet + "\n")
        uri = lsp.open(project / "pkg" / f"user_{index:02d}.py", f"from pkg.{module} import x\n")
        # Related files (what the buffer imports, from disk) are read within a 100 ms time
        # box: on a loaded machine a request may go without them, so ask again.
        for _ in range(_ATTEMPTS):
            await _explain_whole(lsp, uri)
            if planted.marker in _sent(model):
                break
        _assert_masked(model, planted, "a workspace file read as context")


async def test_secrets_quoted_in_diagnostics_never_reach_the_model(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "diagnosed.py", "value = compute()\n")
    start, end = types.Position(line=0, character=0), types.Position(line=0, character=5)
    for planted in PLANTED:
        model.reset()
        model.set_default("*", Reply(content="```python\nvalue = compute() or 0\n```"))
        problem = types.Diagnostic(
            range=types.Range(start=start, end=end), message=planted.snippet, source="linter"
        )
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=start, end=start),
            context=types.CodeActionContext(diagnostics=[problem]),
        )
        fix = next(a for a in await lsp.code_actions(params) if a.title == "Fix with Aurelis")
        await asyncio.wait_for(lsp.code_action_resolve_async(fix), TIMEOUT)
        _assert_masked(model, planted, "a diagnostic message")


def _plant_secret_files(project: Path) -> None:
    for relative, content in SECRET_FILES:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _secret_file_markers() -> list[str]:
    return [re.findall(r"\w*filemarker", content)[0] for _, content in SECRET_FILES]


async def test_secret_files_are_never_context_open_or_not(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    _plant_secret_files(project)
    for relative, content in SECRET_FILES:  # open in the editor, as other documents
        lsp.open(project / relative, content, language="plaintext")
    (project / "web" / "linked.js").symlink_to(project / ".netrc")
    (project / "web" / "helper.js").write_text("export const helperMarker = 1;\n")
    imports = "".join(
        f'import x{n} from "../{relative}";\n' for n, (relative, _) in enumerate(SECRET_FILES)
    )
    # The helper first: related files are read within a time box, in import order.
    source = 'import h from "./helper";\nimport l from "./linked.js";\n' + imports + "run();\n"
    uri = lsp.open(project / "web" / "app.js", source, language="javascript")

    for _ in range(_ATTEMPTS):  # the related-files time box, as above
        await _explain_whole(lsp, uri)
        if "helperMarker" in _sent(model):
            break
    await lsp.inline(uri, end_position(lsp.texts[uri]))

    sent = _sent(model)
    assert "helperMarker" in sent  # imported files are read: the secret ones were refused
    for marker in _secret_file_markers():
        assert marker not in sent
    assert "netrcfilemarker" not in sent  # not through the symlink either


@pytest.mark.parametrize("relative", [".netrc", "deploy/server.pem", "id_ed25519", ".env.local"])
async def test_an_action_on_a_secret_file_is_refused_clearly(
    lsp: AurelisTestClient, model: ModelServer, project: Path, relative: str
) -> None:
    model.set_default("*", Reply(content="ok"))
    (project / relative).parent.mkdir(parents=True, exist_ok=True)
    uri = lsp.open(project / relative, "machine x login y password pw-9876\n", language="text")

    with pytest.raises(JsonRpcException) as refused:
        await lsp.command("aurelis.explain", {"uri": uri, "position": {"line": 0, "character": 0}})
    completion = await lsp.inline(uri, types.Position(line=1, character=0))

    assert "never sends" in str(refused.value) and Path(relative).name in str(refused.value)
    assert not completion or not completion.items
    assert model.requests == []
