"""In a multi-root workspace a request's context comes from its document's own folder: no
other folder's open files, imports or tree reach the model, with two roots or three; a
document outside every folder gets no folder's context; `context_across_roots` (a user
setting) lets them in. The recorded request bodies show what each request carried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.lsp.conftest import Starter
from tests.lsp.harness import AurelisTestClient, end_position

from aurelis.testing import ModelServer, Reply

_ATTEMPTS = 5  # project context is read within a 100 ms time box: a loaded machine may miss it


def _root(base: Path, name: str) -> Path:
    """A folder with a module other folders could import, and a file to open."""
    root = base / name
    (root / f"lib_{name}").mkdir(parents=True)
    (root / f"lib_{name}" / "__init__.py").write_text("")
    (root / f"lib_{name}" / "shared.py").write_text(f"IMPORTED_{name.upper()} = 1\n")
    (root / f"tree_file_{name}.py").write_text("")
    return root


def _sent(model: ModelServer) -> str:
    return "\n".join(json.dumps(request.body) for request in model.requests)


async def _explain(client: AurelisTestClient, uri: str) -> None:
    whole = {"start": {"line": 0, "character": 0}, "end": end_position(client.texts[uri])}
    await client.command("aurelis.explain", {"uri": uri, "range": whole})


def _user(root: Path, others: list[str]) -> str:
    imports = "".join(f"from lib_{name}.shared import x\n" for name in [root.name, *others])
    return imports + f"OWN_{root.name.upper()} = 1\n"


async def _explain_until_own_import(
    client: AurelisTestClient, model: ModelServer, uri: str, name: str
) -> str:
    for _ in range(_ATTEMPTS):
        model.reset()
        model.set_default("*", Reply(content="ok"))
        await _explain(client, uri)
        if f"IMPORTED_{name.upper()}" in _sent(model):
            break
    return _sent(model)


@pytest.mark.parametrize("count", [2, 3])
async def test_each_request_carries_only_its_own_roots_files(
    start_lsp: Starter, model: ModelServer, tmp_path: Path, count: int
) -> None:
    names = ["alpha", "beta", "gamma"][:count]
    roots = [_root(tmp_path, name) for name in names]
    client: AurelisTestClient = await start_lsp(folders=roots)
    uris = {}
    for root in roots:
        others = [name for name in names if name != root.name]
        client.open(root / "notes.py", f"OPEN_NOTE_{root.name.upper()} = 1\n")
        uris[root.name] = client.open(root / "user.py", _user(root, others))

    for name in names:
        sent = await _explain_until_own_import(client, model, uris[name], name)
        assert f"OWN_{name.upper()}" in sent and f"OPEN_NOTE_{name.upper()}" in sent
        assert f"IMPORTED_{name.upper()}" in sent  # its own imports are read
        for other in names:
            if other != name:
                assert f"OPEN_NOTE_{other.upper()}" not in sent, f"{other}'s open file"
                assert f"IMPORTED_{other.upper()}" not in sent, f"{other}'s module"
                assert f"tree_file_{other}" not in sent, f"{other}'s tree"
        model.reset()
        model.set_default("*", Reply(content="x"))
        await client.inline(uris[name], end_position(client.texts[uris[name]]))
        inline = _sent(model)
        assert f"OPEN_NOTE_{name.upper()}" in inline
        assert not any(f"OPEN_NOTE_{o.upper()}" in inline for o in names if o != name)


async def test_a_document_outside_every_root_gets_no_roots_context(
    start_lsp: Starter, model: ModelServer, tmp_path: Path
) -> None:
    roots = [_root(tmp_path, "alpha"), _root(tmp_path, "beta")]
    client: AurelisTestClient = await start_lsp(folders=roots)
    for root in roots:
        client.open(root / "notes.py", f"OPEN_NOTE_{root.name.upper()} = 1\n")
    (tmp_path / "elsewhere").mkdir()
    uri = client.open(tmp_path / "elsewhere" / "loose.py", "LOOSE = 1\n")
    model.set_default("*", Reply(content="ok"))

    await _explain(client, uri)

    sent = _sent(model)
    assert "LOOSE" in sent and "OPEN_NOTE_" not in sent and "tree_file_" not in sent


async def test_the_user_can_let_context_cross_roots(
    start_lsp: Starter, model: ModelServer, tmp_path: Path
) -> None:
    roots = [_root(tmp_path, "alpha"), _root(tmp_path, "beta")]
    client: AurelisTestClient = await start_lsp(
        folders=roots, env={"AURELIS_CONTEXT_ACROSS_ROOTS": "true"}
    )
    client.open(roots[1] / "notes.py", "OPEN_NOTE_BETA = 1\n")
    uri = client.open(roots[0] / "user.py", "OWN_ALPHA = 1\n")
    model.set_default("*", Reply(content="ok"))

    await _explain(client, uri)

    assert "OPEN_NOTE_BETA" in _sent(model)
