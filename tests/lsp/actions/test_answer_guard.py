"""Model output written into code: echoed prompt scaffolding is cut, sizes are bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurelis.lsp.actions.answer_guard import INSERT_LIMITS, check_insert_size, strip_echo
from aurelis.lsp.actions.catalog import ActionRequest, Replacement, plan_action
from aurelis.lsp.context import ContextSources, ProjectCache
from aurelis.lsp.errors import RequestFailed
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots

SOURCE = "def add(a, b):\n    return a + b\n"
#: What the embedded gemma-270M answered through llama-cpp-python's server (llama-2 chat
#: format fallback) when asked to complete a function: its own prompt, repeated.
REAL_ECHO = (
    "\n<</SYS>\nYou are a coding assistant.\nComplete this Python function:\n"
    "def add(a, b): [/INST]\n<</SYS>\nYou are a coding assistant.\n"
)


def _plan_sources() -> ContextSources:
    return ContextSources(WorkspaceRoots(()), lambda: [], ProjectCache())


def _document(tmp_path: Path, text: str = SOURCE) -> DocumentSnapshot:
    path = tmp_path / "calc.py"
    return DocumentSnapshot(
        uri=path.as_uri(), path=str(path), language_id="python", version=1, text=text
    )


def test_an_answer_that_is_only_an_echo_is_refused() -> None:
    with pytest.raises(RequestFailed, match="repeated its instructions"):
        strip_echo(REAL_ECHO)


@pytest.mark.parametrize(
    "echo",
    [
        "<<the code this request is about>>",
        "[/INST]",
        "<start_of_turn>user",
        "<|im_start|>assistant",
        "## Request",
        "## Existing code",
    ],
)
def test_an_answer_is_cut_where_it_starts_echoing(echo: str) -> None:
    answer = f"Add two numbers.\n\nReturns their sum.\n{echo}\nmore of the prompt\n"
    assert strip_echo(answer) == "Add two numbers.\n\nReturns their sum.\n"


def test_an_answer_without_markers_is_untouched() -> None:
    answer = "```python\ndef add(a, b):\n    # [INST]ance counter\n    return a + b\n```"
    assert strip_echo("Adds a and b.") == "Adds a and b."
    assert strip_echo(answer.replace("[INST]", "inst")) == answer.replace("[INST]", "inst")


def test_each_code_action_has_a_documented_limit() -> None:
    for action in ("document", "generate", "refactor", "generateTests"):
        assert INSERT_LIMITS[action] > 0
    assert INSERT_LIMITS["document"] < 50  # a docstring is not 200 lines
    check_insert_size("explain", "x\n" * 10_000)  # read-only: no limit


def test_a_rewrite_may_grow_with_its_target() -> None:
    target = "x = 1\n" * 100
    check_insert_size("refactor", "y = 2\n" * 300, target)
    with pytest.raises(RequestFailed, match="301 lines"):
        check_insert_size("refactor", "y = 2\n" * 301, target)


async def test_a_215_line_docstring_is_refused_and_nothing_applied(tmp_path: Path) -> None:
    document = _document(tmp_path)
    action = ActionRequest("document", document, None, SOURCE.index("a + b"), None)
    plan = await plan_action(action, budget=4000, sources=_plan_sources())
    huge = "\n".join(f"Line {n} of a rambling description." for n in range(215))
    # 215 lines of text and the closing quotes: 216 inserted lines
    with pytest.raises(RequestFailed, match="216 lines, more than the 40"):
        plan.finish(huge)


async def test_document_applies_what_comes_before_an_echo(tmp_path: Path) -> None:
    document = _document(tmp_path)
    action = ActionRequest("document", document, None, SOURCE.index("a + b"), None)
    plan = await plan_action(action, budget=4000, sources=_plan_sources())
    change = plan.finish("Add two numbers.\n<<the code this request is about>>\ndef add(a, b):")
    at = SOURCE.index("    return")
    assert change == Replacement(at, at, '    """Add two numbers."""\n')
