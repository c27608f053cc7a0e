"""The eight `aurelis.*` commands end to end, with the edits they make checked.

Actions that only edit the open document in place share one test shape (`EDIT_CASES`);
the ones with more to check (minimal edits, new files, Markdown, stale versions) have
their own tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.lsp.harness import AurelisTestClient, position_of, recorded_prompt

from aurelis.testing import ModelServer, Reply


def _args(
    uri: str, text: str, selected: str | None = None, cursor: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Command arguments like the VS Code extension builds them."""
    args: dict[str, Any] = {"uri": uri, **extra}
    if selected is not None:
        start = position_of(text, selected)
        end = position_of(text, selected, after=True)
        args["range"] = {"start": _json(start), "end": _json(end)}
        args["position"] = _json(end)
    if cursor is not None:
        args["position"] = _json(position_of(text, cursor, after=True))
    return args


def _json(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def _single_edit_ranges(client: AurelisTestClient) -> list[types.Range]:
    edit = client.applied_edits[-1]
    assert edit.document_changes is not None
    ranges = []
    for change in edit.document_changes:
        assert isinstance(change, types.TextDocumentEdit)
        ranges.extend(item.range for item in change.edits)
    return ranges


async def test_refactor_replaces_the_selection_with_minimal_edits(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    path = project / "pkg" / "calc.py"
    uri = lsp.open(path)
    text = lsp.texts[uri]
    selected = (
        "def scale(values, factor):\n    result = []\n    for value in values:\n"
        "        result.append(clamp(value * factor, 0, 100))\n    return result\n"
    )
    model.set_default(
        "*",
        Reply(
            content=(
                "Here is a cleaner version:\n```python\ndef scale(values, factor):\n"
                "    return [clamp(value * factor, 0, 100) for value in values]\n```\n"
                "It uses a comprehension."
            )
        ),
    )

    result = await lsp.command(
        "aurelis.refactor", _args(uri, text, selected, instruction="use a comprehension")
    )

    assert result == {"applied": True}
    assert lsp.texts[uri] == text.replace(
        selected,
        "def scale(values, factor):\n"
        "    return [clamp(value * factor, 0, 100) for value in values]\n",
    )
    # The unchanged `def` line is not part of any edit.
    def_line = position_of(text, "def scale").line
    assert all(r.start.line > def_line for r in _single_edit_ranges(lsp))
    prompt = recorded_prompt(model)
    assert "use a comprehension" in prompt
    assert model.requests[0].model == "mistral-ai/Codestral-2501"


@dataclass(frozen=True)
class EditCase:
    """An action that edits the open document in place, and what it must leave there."""

    command: str
    file: str
    where: dict[str, str]  # `_args` keywords: the selected text or the text before the cursor
    answer: str
    expected: str  # the edited document holds this
    prompt_holds: str
    routed_to: str | None = None
    language: str = "python"
    text: str | None = None  # the document, when not the fixture file


EDIT_CASES = {
    "addErrorHandling reindents the answer to the selection": EditCase(
        "aurelis.addErrorHandling",
        "pkg/calc.py",
        {
            "selected": (
                "        result = a / b\n        self.memory = result\n        return result\n"
            )
        },
        "```python\nif b == 0:\n    raise ZeroDivisionError('b must not be zero')\n"
        "result = a / b\nself.memory = result\nreturn result\n```",
        "    def divide(self, a, b):\n        if b == 0:\n"
        "            raise ZeroDivisionError('b must not be zero')\n        result = a / b\n",
        "Add error handling",
    ),
    "optimize without a selection rewrites the enclosing function": EditCase(
        "aurelis.optimize",
        "pkg/calc.py",
        {"cursor": "return a"},
        "```\ndef add(a, b):\n    return b + a\n```",
        "def add(a, b):\n    return b + a\n\n\ndef scale",
        "faster or leaner",
    ),
    "document inserts a docstring under the signature": EditCase(
        "aurelis.document",
        "pkg/calc.py",
        {"cursor": "result = a / b"},
        '"""Divide a by b and remember the result."""',
        '    def divide(self, a, b):\n        """Divide a by b and remember the result."""\n'
        "        result = a / b\n",
        "result = a / b",
        routed_to="cohere/cohere-command-r-08-2024",
    ),
    "document writes a comment block in javascript": EditCase(
        "aurelis.document",
        "web/format.js",
        {"cursor": "return pad"},
        "Format an amount with its currency.\n@param amount number",
        "/**\n * Format an amount with its currency.\n * @param amount number\n */\n"
        "function formatPrice(amount, currency) {",
        "formatPrice",
        language="javascript",
    ),
    "generate takes its instruction from the comment at the cursor": EditCase(
        "aurelis.generate",
        "pkg/gen2.py",
        {"cursor": "radius r"},
        "def circle_area(r):\n    return math.pi * r * r",
        "import math\n\n# a function returning the circle area for radius r\n"
        "def circle_area(r):\n    return math.pi * r * r\nprint('end')\n",
        "a function returning the circle area for radius r",
        routed_to="mistral-ai/Codestral-2501",
        text="import math\n\n# a function returning the circle area for radius r\nprint('end')\n",
    ),
}


@pytest.mark.parametrize("case", EDIT_CASES.values(), ids=EDIT_CASES.keys())
async def test_an_action_edits_the_document_where_it_was_asked(
    lsp: AurelisTestClient, model: ModelServer, project: Path, case: EditCase
) -> None:
    uri = lsp.open(project / case.file, case.text, language=case.language)
    text = lsp.texts[uri]
    model.set_default("*", Reply(content=case.answer))

    result = await lsp.command(case.command, _args(uri, text, **case.where))

    assert result == {"applied": True}
    assert case.expected in lsp.texts[uri]
    assert case.prompt_holds in recorded_prompt(model)
    if case.routed_to is not None:
        assert model.requests[0].model == case.routed_to


async def test_generate_inserts_code_for_the_instruction_at_the_cursor(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "gen.py", "class Shapes:\n    \n")
    model.set_default("*", Reply(content="```python\ndef area(self, w, h):\n    return w * h\n```"))
    args = {"uri": uri, "position": {"line": 1, "character": 4}, "instruction": "an area method"}

    result = await lsp.command("aurelis.generate", args)

    assert result == {"applied": True}
    assert lsp.texts[uri] == "class Shapes:\n    def area(self, w, h):\n        return w * h\n"
    assert recorded_prompt(model).count("an area method") == 1


async def test_generate_tests_creates_the_test_file(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    text = lsp.texts[uri]
    model.set_default(
        "*",
        Reply(
            content=(
                "```python\nfrom pkg.calc import add\n\n\n"
                "def test_add():\n    assert add(1, 2) == 3\n```"
            )
        ),
    )

    result = await lsp.command("aurelis.generateTests", _args(uri, text, cursor="return a + b"))

    target = project / "tests" / "test_calc.py"
    assert result == {"applied": True, "message": "Aurelis: tests written to tests/test_calc.py"}
    assert (
        target.read_text()
        == "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    assert isinstance(lsp.applied_edits[-1].document_changes[0], types.CreateFile)
    assert "`pkg.calc`" in recorded_prompt(model)


async def test_generate_tests_appends_to_an_existing_test_file(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    existing = project / "tests" / "test_calc.py"
    existing.write_text("import pkg.calc\n")
    uri = lsp.open(project / "pkg" / "calc.py")
    model.set_default(
        "*",
        Reply(
            content="```python\ndef test_scale():\n    assert pkg.calc.scale([1], 2) == [2]\n```"
        ),
    )

    result = await lsp.command(
        "aurelis.generateTests", _args(uri, lsp.texts[uri], cursor="result = []")
    )

    assert result["applied"] is True
    assert existing.read_text() == (
        "import pkg.calc\n\n\ndef test_scale():\n    assert pkg.calc.scale([1], 2) == [2]\n"
    )


async def test_explain_returns_the_model_markdown(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    text = lsp.texts[uri]
    model.set_default("*", Reply(content="## What it does\nAdds `a` and `b`."))

    result = await lsp.command(
        "aurelis.explain", _args(uri, text, "def add(a, b):\n    return a + b")
    )

    assert result == {"markdown": "## What it does\nAdds `a` and `b`."}
    assert "def add(a, b):\n    return a + b" in recorded_prompt(model)
    assert model.requests[0].model == "cohere/cohere-command-r-08-2024"
    assert lsp.applied_edits == []


async def test_analyze_sends_the_file_and_returns_markdown(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    model.set_default("*", Reply(content="- `divide` fails when b is 0"))

    result = await lsp.command("aurelis.analyze", {"uri": uri})

    assert result == {"markdown": "- `divide` fails when b is 0"}
    assert lsp.texts[uri] in recorded_prompt(model)
    assert model.requests[0].model == "openai/gpt-4o"


async def test_an_edit_for_an_old_version_is_dropped_and_the_user_told(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    text = lsp.texts[uri]
    model.set_default(
        "*", Reply(content="```python\ndef add(a, b):\n    return sum((a, b))\n```", latency=2)
    )
    pending = lsp.command(
        "aurelis.refactor", _args(uri, text, "def add(a, b):\n    return a + b", version=1)
    )
    task = asyncio.ensure_future(pending)
    await lsp.wait_for(lambda: model.in_flight == 1)
    lsp.type_at_end(uri, "# edited meanwhile\n")

    result = await task

    assert result["applied"] is False
    assert "changed" in result["message"]
    assert lsp.texts[uri] == text + "# edited meanwhile\n"
    assert any("changed" in message.message for message in lsp.messages)


async def test_a_command_for_a_version_already_gone_never_calls_the_model(
    lsp: AurelisTestClient, model: ModelServer, project: Path
) -> None:
    uri = lsp.open(project / "pkg" / "calc.py")
    lsp.type_at_end(uri, "\n")

    result = await lsp.command("aurelis.refactor", _args(uri, lsp.texts[uri], "def add", version=1))

    assert result["applied"] is False
    assert model.requests == []
