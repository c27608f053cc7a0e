"""The editor actions' builders as plain functions: an action, a prompt token budget and
the workspace roots in; a prompt, a target range and a finisher out. No server runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from aurelis.core.secrets import REDACTED
from aurelis.lsp.actions.arguments import action_request, parse_arguments
from aurelis.lsp.actions.catalog import (
    ACTIONS,
    ActionRequest,
    Markdown,
    NewFileEdit,
    Replacement,
    plan_action,
)
from aurelis.lsp.context import ContextSources, ProjectCache
from aurelis.lsp.errors import InvalidArguments, RequestFailed
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots
from aurelis.models.types import TaskType

BUDGET = 4000
SOURCE = (
    "import os\n\n\n"
    "def add(a, b):\n"
    "    return a + b\n\n\n"
    "def scale(value, factor):\n"
    "    result = value * factor\n"
    "    return result\n"
)


def _document(tmp_path: Path, text: str = SOURCE, language: str = "python") -> DocumentSnapshot:
    path = tmp_path / "pkg" / "calc.py"
    return DocumentSnapshot(
        uri=path.as_uri(), path=str(path), language_id=language, version=3, text=text
    )


def _action(
    name: str,
    document: DocumentSnapshot,
    *,
    cursor: int | None = None,
    selection: tuple[int, int] | None = None,
    instruction: str | None = None,
) -> ActionRequest:
    return ActionRequest(name, document, selection, cursor, instruction)


def _inside(text: str, needle: str) -> int:
    return text.index(needle) + 1


def test_every_action_has_a_builder_with_its_task() -> None:
    assert set(ACTIONS) == {
        "generate",
        "document",
        "refactor",
        "optimize",
        "addErrorHandling",
        "generateTests",
        "explain",
        "analyze",
    }
    assert ACTIONS["generateTests"].task is TaskType.TESTING
    assert ACTIONS["addErrorHandling"].task is TaskType.REFACTORING


@pytest.mark.parametrize("name", ["refactor", "optimize", "addErrorHandling"])
def test_rewrite_targets_the_function_at_the_cursor_and_replaces_it(
    tmp_path: Path, name: str
) -> None:
    document = _document(tmp_path)
    cursor = _inside(SOURCE, "result = value")
    draft = ACTIONS[name].build(_action(name, document, cursor=cursor), BUDGET, WorkspaceRoots(()))
    start, end = draft.target
    assert SOURCE[start:end].startswith("def scale(value, factor):")
    assert "def add" not in draft.prompt and "def scale" in draft.prompt
    change = draft.finish("```python\ndef scale(value, factor):\n    return value * factor\n```")
    assert change == Replacement(
        start, end, "def scale(value, factor):\n    return value * factor\n"
    )


def test_rewrite_passes_the_instruction_on(tmp_path: Path) -> None:
    document = _document(tmp_path)
    action = _action(
        "refactor", document, cursor=_inside(SOURCE, "a + b"), instruction="use operator.add"
    )
    draft = ACTIONS["refactor"].build(action, BUDGET, WorkspaceRoots(()))
    assert "Instruction: use operator.add" in draft.prompt


def test_rewrite_outside_any_function_asks_for_a_selection(tmp_path: Path) -> None:
    document = _document(tmp_path)
    with pytest.raises(InvalidArguments, match="select the code to rewrite"):
        ACTIONS["refactor"].build(
            _action("refactor", document, cursor=0), BUDGET, WorkspaceRoots(())
        )


def test_code_larger_than_half_the_budget_is_refused_before_any_call(tmp_path: Path) -> None:
    document = _document(tmp_path)
    action = _action("optimize", document, cursor=_inside(SOURCE, "result = value"))
    with pytest.raises(InvalidArguments, match="at most 10"):
        ACTIONS["optimize"].build(action, 20, WorkspaceRoots(()))


def test_rewrite_answer_changing_a_secret_line_is_not_applied(tmp_path: Path) -> None:
    text = (
        'def connect():\n    token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"\n    return token\n'
    )
    document = _document(tmp_path, text)
    draft = ACTIONS["refactor"].build(
        _action("refactor", document, cursor=_inside(text, "return")), BUDGET, WorkspaceRoots(())
    )
    with pytest.raises(RequestFailed, match="secret"):
        draft.finish(
            f'```python\ndef connect():\n    token = "other"\n    return "{REDACTED}"\n```'
        )


def test_generate_inserts_below_the_comment_at_the_cursor(tmp_path: Path) -> None:
    text = "# return the larger of a and b\n"
    document = _document(tmp_path, text)
    draft = ACTIONS["generate"].build(
        _action("generate", document, cursor=3), BUDGET, WorkspaceRoots([tmp_path])
    )
    assert draft.prompt.startswith("return the larger of a and b")
    assert "`pkg/calc.py`" in draft.prompt
    change = draft.finish("```python\ndef larger(a, b):\n    return max(a, b)\n```")
    assert isinstance(change, Replacement)
    assert change.start == change.end == len(text)
    assert change.text == "def larger(a, b):\n    return max(a, b)\n"


def test_generate_without_an_instruction_says_what_it_needs(tmp_path: Path) -> None:
    document = _document(tmp_path, "x = 1\n")
    with pytest.raises(InvalidArguments, match="needs an instruction"):
        ACTIONS["generate"].build(
            _action("generate", document, cursor=0), BUDGET, WorkspaceRoots(())
        )


def test_document_writes_a_python_docstring_under_the_signature(tmp_path: Path) -> None:
    document = _document(tmp_path)
    draft = ACTIONS["document"].build(
        _action("document", document, cursor=_inside(SOURCE, "a + b")), BUDGET, WorkspaceRoots(())
    )
    assert "docstring" in draft.prompt and "function `add`" in draft.prompt
    change = draft.finish("Add two numbers.")
    header_end = SOURCE.index("    return a + b")
    assert change == Replacement(header_end, header_end, '    """Add two numbers."""\n')


def test_document_writes_a_block_comment_in_javascript(tmp_path: Path) -> None:
    text = "function add(a, b) {\n  return a + b;\n}\n"
    document = _document(tmp_path, text, "javascript")
    draft = ACTIONS["document"].build(
        _action("document", document, selection=(0, len(text))), BUDGET, WorkspaceRoots(())
    )
    change = draft.finish("Adds two numbers.")
    assert change == Replacement(0, 0, "/**\n * Adds two numbers.\n */\n")


def test_generate_tests_appends_to_the_test_file_under_the_tests_folder(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    document = _document(tmp_path)
    roots = WorkspaceRoots([tmp_path])
    draft = ACTIONS["generateTests"].build(
        _action("generateTests", document, cursor=_inside(SOURCE, "a + b")), BUDGET, roots
    )
    assert "with pytest" in draft.prompt and "pkg.calc" in draft.prompt
    change = draft.finish("```python\ndef test_add():\n    assert add(1, 2) == 3\n```")
    assert isinstance(change, NewFileEdit)
    assert change.target.path == tmp_path / "tests" / "test_calc.py"
    assert change.text == "def test_add():\n    assert add(1, 2) == 3\n"


def test_explain_without_a_function_explains_the_cursor_line(tmp_path: Path) -> None:
    document = _document(tmp_path)
    draft = ACTIONS["explain"].build(
        _action("explain", document, cursor=3), BUDGET, WorkspaceRoots(())
    )
    assert draft.target == (0, len("import os"))
    assert draft.finish("  It imports os.  ") == Markdown("It imports os.")


def test_analyze_shows_only_the_head_of_a_file_beyond_the_budget(tmp_path: Path) -> None:
    text = "".join(f"value_{n} = {n} * {n}\n" for n in range(400))
    document = _document(tmp_path, text)
    draft = ACTIONS["analyze"].build(_action("analyze", document), 400, WorkspaceRoots(()))
    assert "only its first" in draft.prompt
    assert draft.target[1] < len(text)
    assert "value_0 = 0" in draft.prompt and "value_399" not in draft.prompt


def test_analyze_refuses_an_empty_file(tmp_path: Path) -> None:
    document = _document(tmp_path, "\n\n")
    with pytest.raises(InvalidArguments, match="empty"):
        ACTIONS["analyze"].build(_action("analyze", document), BUDGET, WorkspaceRoots(()))


async def test_plan_carries_the_task_the_prompt_and_context_within_the_budget(
    tmp_path: Path,
) -> None:
    document = _document(tmp_path)
    sources = ContextSources(WorkspaceRoots([tmp_path]), lambda: [document], ProjectCache())
    action = ActionRequest(
        "refactor", document, None, _inside(SOURCE, "a + b"), None, ("line 5: unused (lint)",)
    )
    plan = await plan_action(action, budget=BUDGET, sources=sources)
    assert plan.title == "Refactor"
    assert plan.request.task_type is TaskType.REFACTORING
    assert plan.request.metadata == {"source": "lsp", "feature": "refactor"}
    assert plan.request.context is not None
    assert "line 5: unused (lint)" in plan.request.context["diagnostics"]


async def test_plan_refuses_a_prompt_larger_than_the_budget(tmp_path: Path) -> None:
    document = _document(tmp_path)
    sources = ContextSources(WorkspaceRoots(()), lambda: [], ProjectCache())
    action = _action("analyze", document)
    with pytest.raises(InvalidArguments, match="too large for one request"):
        await plan_action(action, budget=60, sources=sources)


# --- arguments ----------------------------------------------------------------------------


def test_arguments_become_a_selection_and_a_cursor(tmp_path: Path) -> None:
    document = _document(tmp_path)
    args = parse_arguments(
        "aurelis.refactor",
        (
            {
                "uri": document.uri,
                "range": {"start": {"line": 3, "character": 0}, "end": {"line": 4, "character": 4}},
                "instruction": "  be brief  ",
                "version": 3,
            },
        ),
    )
    assert args.version == 3 and args.instruction == "be brief"
    action = action_request("refactor", document, args)
    assert action.selection == (SOURCE.index("def add"), SOURCE.index("return a + b"))
    assert action.cursor == action.selection[1]


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ({}, "`uri` must be a non-empty string"),
        ({"uri": "file:///a.py", "version": True}, "`version` must be an integer"),
        ({"uri": "file:///a.py", "position": {"line": -1, "character": 0}}, "position.line"),
        ({"uri": "file:///a.py", "range": {"start": {"line": 0, "character": 0}}}, "both"),
    ],
)
def test_bad_arguments_name_the_field(raw: dict[str, object], complaint: str) -> None:
    with pytest.raises(InvalidArguments, match=complaint):
        parse_arguments("aurelis.explain", (raw,))


def test_arguments_must_be_one_object() -> None:
    with pytest.raises(InvalidArguments, match="got 2 arguments"):
        parse_arguments("aurelis.explain", ({"uri": "file:///a.py"}, {}))
    with pytest.raises(InvalidArguments, match="got list"):
        parse_arguments("aurelis.explain", ([types.Position(line=0, character=0)],))
