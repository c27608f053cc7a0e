"""`aurelis.generateTests` never creates a file whose resolved path leaves the workspace:
not through a linked `tests/` or source folder, not for a document outside it, not for
one reached through `..` (the real server, the harness applying what it is sent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcInvalidParams
from tests.lsp.harness import AurelisTestClient

from aurelis.testing import ModelServer, Reply

TESTS = "```python\ndef test_add():\n    assert add(1, 2) == 3\n```"


def _args(uri: str, line: int = 4) -> dict[str, object]:
    """The cursor inside `add` of the fixture's pkg/calc.py (line 1 of the JS file)."""
    return {"uri": uri, "position": {"line": line, "character": 5}}


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


async def test_a_tests_folder_linked_out_of_the_workspace_is_refused(
    lsp: AurelisTestClient, model: ModelServer, project: Path, outside: Path
) -> None:
    model.set_default("*", Reply(content=TESTS))
    shutil.rmtree(project / "tests")
    (project / "tests").symlink_to(outside, target_is_directory=True)
    uri = lsp.open(project / "pkg" / "calc.py")

    with pytest.raises(JsonRpcInvalidParams, match="outside the workspace folders"):
        await lsp.command("aurelis.generateTests", _args(uri))

    assert _files(outside) == [] and model.requests == []


async def test_a_source_folder_linked_out_of_the_workspace_is_refused(
    lsp: AurelisTestClient, model: ModelServer, project: Path, outside: Path
) -> None:
    model.set_default("*", Reply(content=TESTS))
    (outside / "pad.js").write_text("export function pad(s) {\n  return ' ' + s;\n}\n")
    (project / "vendor").symlink_to(outside, target_is_directory=True)
    uri = lsp.open(project / "vendor" / "pad.js", language="javascript")

    with pytest.raises(JsonRpcInvalidParams, match="outside the workspace"):
        await lsp.command("aurelis.generateTests", _args(uri, line=1))

    assert _files(outside) == ["pad.js"] and model.requests == []


async def test_a_document_outside_the_workspace_is_refused(
    lsp: AurelisTestClient, model: ModelServer, project: Path, outside: Path
) -> None:
    model.set_default("*", Reply(content=TESTS))
    source = outside / "calc.py"
    shutil.copy(project / "pkg" / "calc.py", source)
    uri = lsp.open(source)

    with pytest.raises(JsonRpcInvalidParams, match="outside the workspace folders"):
        await lsp.command("aurelis.generateTests", _args(uri))

    assert _files(outside) == ["calc.py"] and model.requests == []


@pytest.mark.parametrize("route", ["pkg/../pkg/calc.py", "../outside/calc.py"])
async def test_a_document_reached_through_dotdot_is_refused(
    lsp: AurelisTestClient, model: ModelServer, project: Path, outside: Path, route: str
) -> None:
    model.set_default("*", Reply(content=TESTS))
    shutil.copy(project / "pkg" / "calc.py", outside / "calc.py")
    before = _files(project)
    uri = project.as_uri() + "/" + route
    lsp.texts[uri], lsp.versions[uri] = (project / "pkg" / "calc.py").read_text(), 1
    lsp.text_document_did_open(_opened(uri, lsp.texts[uri]))

    with pytest.raises(JsonRpcInvalidParams, match=r"goes through '\.\.'"):
        await lsp.command("aurelis.generateTests", _args(uri))

    assert _files(outside) == ["calc.py"] and _files(project) == before


async def test_a_test_file_linked_out_of_the_workspace_is_not_appended_to(
    lsp: AurelisTestClient, model: ModelServer, project: Path, outside: Path
) -> None:
    model.set_default("*", Reply(content=TESTS))
    victim = outside / "victim.py"
    victim.write_text("precious = True\n")
    (project / "tests" / "test_calc.py").symlink_to(victim)
    uri = lsp.open(project / "pkg" / "calc.py")

    with pytest.raises(JsonRpcInvalidParams, match="outside the workspace folders"):
        await lsp.command("aurelis.generateTests", _args(uri))

    assert victim.read_text() == "precious = True\n"


async def test_a_tests_folder_linked_inside_the_workspace_still_works(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content=TESTS))
    shutil.rmtree(project / "tests")
    (project / "spec").mkdir()
    (project / "tests").symlink_to(project / "spec", target_is_directory=True)
    uri = lsp.open(project / "pkg" / "calc.py")

    result = await lsp.command("aurelis.generateTests", _args(uri))

    assert result["applied"] is True
    assert (project / "spec" / "test_calc.py").read_text().startswith("def test_add")


def _opened(uri: str, text: str) -> object:
    from lsprotocol import types

    return types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    )
