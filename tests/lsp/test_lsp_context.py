"""Context injection: what reaches the model, in what order, within what budget, and what
never does (secrets, files outside the workspace, ignored, binary and huge files)."""

from __future__ import annotations

import os
from pathlib import Path

from lsprotocol import types
from tests.conftest import TEST_TOKEN
from tests.lsp.harness import AurelisTestClient, recorded_prompt

from aurelis.models.tokens import count_tokens
from aurelis.testing import ModelServer, Reply

GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
ENV_SECRET = "s3cr3t-from-dotenv-value"


async def _explain(client: AurelisTestClient, uri: str) -> None:
    await client.command("aurelis.explain", {"uri": uri, "position": {"line": 0, "character": 0}})


async def test_action_context_has_buffer_and_project_sections(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    uri = lsp.open(project / "pkg" / "calc.py")

    await lsp.command("aurelis.explain", {"uri": uri, "position": {"line": 20, "character": 8}})

    prompt = recorded_prompt(model)
    assert "pkg/calc.py (python)" in prompt  # file, relative to the workspace folder
    assert "class Calculator:" in prompt  # enclosing symbol
    assert "from pkg.util import clamp" in prompt  # imports
    assert "Limit value to the range [low, high]." in prompt  # the imported module's file
    assert "web/format.js" in prompt  # the workspace tree


async def test_open_documents_come_most_recently_edited_first(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    older = lsp.open(project / "pkg" / "older.py", "OLDER_MARKER = 1\n")
    newer = lsp.open(project / "pkg" / "newer.py", "NEWER_MARKER = 2\n")
    lsp.type_at_end(older, "OLDER_EDITED = 3\n")  # edited last, so it comes first
    current = lsp.open(project / "pkg" / "calc.py")
    lsp.type_at_end(current, "\n")

    await _explain(lsp, current)

    prompt = recorded_prompt(model)
    assert prompt.index("OLDER_MARKER") < prompt.index("NEWER_MARKER")
    assert newer


async def test_secrets_are_redacted_before_they_reach_the_model(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    (project / ".env").write_text(f"DB_PASSWORD={ENV_SECRET}\n")
    env_uri = lsp.open(project / ".env", f"DB_PASSWORD={ENV_SECRET}\n", language="dotenv")
    helper = lsp.open(
        project / "pkg" / "keys.py",
        f'SERVICE_KEY = "{GITHUB_TOKEN}"\npassword = "hunter2hunter2"\n',
    )
    text = f'import os\nAPI_TOKEN = "{GITHUB_TOKEN}"\nclient = connect(token="{TEST_TOKEN}")\n\n'
    uri = lsp.open(project / "pkg" / "client.py", text)

    await lsp.inline(uri, types.Position(line=3, character=0))
    await _explain(lsp, uri)
    await lsp.command("aurelis.analyze", {"uri": uri})

    assert len(model.requests) == 3
    for request in model.requests:
        body = str(request.body)
        for secret in (GITHUB_TOKEN, TEST_TOKEN, ENV_SECRET, "hunter2hunter2"):
            assert secret not in body
    assert "[REDACTED]" in recorded_prompt(model, 0)
    assert "SERVICE_KEY" in recorded_prompt(model, 1)  # the open file is there, masked
    assert env_uri and helper


async def test_a_rewrite_keeps_the_users_secret_lines(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    text = f'def connect():\n    key = "{GITHUB_TOKEN}"\n    return open_session(key)\n'
    uri = lsp.open(project / "pkg" / "conn.py", text)
    # The model saw the masked line and copies it back unchanged.
    model.set_default(
        "*",
        Reply(
            content=(
                '```python\ndef connect():\n    key = "[REDACTED]"\n'
                "    session = open_session(key)\n    return session\n```"
            )
        ),
    )

    result = await lsp.command(
        "aurelis.refactor",
        {
            "uri": uri,
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 3, "character": 0}},
        },
    )

    assert result == {"applied": True}
    assert lsp.texts[uri] == (
        f'def connect():\n    key = "{GITHUB_TOKEN}"\n'
        "    session = open_session(key)\n    return session\n"
    )


async def test_nothing_outside_the_workspace_is_read(
    lsp: AurelisTestClient, model: ModelServer, project: Path, tmp_path: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leaked.py").write_text("OUTSIDE_SECRET_CONTENT = 1\n")
    os.symlink(outside / "leaked.py", project / "pkg" / "linked.py")  # a link out of the root
    (tmp_path / "sibling.py").write_text("SIBLING_CONTENT = 1\n")
    text = "from pkg import linked\nfrom ... import sibling\nimport pkg.util\n\nlinked.run()\n"
    uri = lsp.open(project / "pkg" / "main.py", text)
    lsp.open(outside / "opened.py", "OPENED_OUTSIDE_CONTENT = 1\n")

    await _explain(lsp, uri)

    prompt = recorded_prompt(model)
    assert "Limit value to the range" in prompt  # pkg/util.py, inside, is used
    for foreign in ("OUTSIDE_SECRET_CONTENT", "SIBLING_CONTENT", "OPENED_OUTSIDE_CONTENT"):
        assert foreign not in prompt


async def test_ignored_binary_and_huge_files_stay_out(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    (project / "generated").mkdir()
    (project / "generated" / "schema_gen.py").write_text("X = 1\n")
    (project / "debug.log").write_text("log line\n")
    (project / "pkg" / "blob.py").write_bytes(b"BLOB = b'\x00\x01\x02'\n" + b"\x00" * 64)
    (project / "pkg" / "big.py").write_text("BIG_MODULE_CONTENT = 1\n" * 20_000)
    text = "from pkg import blob, big\n\nblob.use()\n"
    uri = lsp.open(project / "pkg" / "user.py", text)

    await _explain(lsp, uri)

    prompt = recorded_prompt(model)
    assert "pkg/calc.py" in prompt  # the tree is there...
    assert "schema_gen.py" not in prompt and "debug.log" not in prompt  # ...minus .gitignore'd
    assert "BLOB = b" not in prompt  # binary content is never read
    assert "BIG_MODULE_CONTENT" not in prompt  # nor huge files


async def test_context_fits_the_prompt_budget(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    model.set_default("*", Reply(content="ok"))
    for index in range(6):
        lsp.open(
            project / "pkg" / f"open_{index}.py",
            f"# open file {index}\n" + "x = compute(1, 2)\n" * 3000,
        )
    big = "def f(a):\n    return a\n" + "y = transform(y)\n" * 20_000
    uri = lsp.open(project / "pkg" / "big_current.py", big)

    await lsp.inline(uri, types.Position(line=1, character=12))
    await lsp.command("aurelis.explain", {"uri": uri, "position": {"line": 1, "character": 4}})

    inline_prompt, action_prompt = recorded_prompt(model, 0), recorded_prompt(model, 1)
    assert count_tokens(inline_prompt) <= 1536 + 100  # system prompt and framing aside
    assert count_tokens(action_prompt) <= 6000 + 200
    assert "# open file 5" in action_prompt  # the most recent open file made it in
    assert "def f(a):\n    return a" in action_prompt
