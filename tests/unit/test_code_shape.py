"""Answers shaped like code: block-end stops for completion-style prompts, no worked example
to copy, no unfinished string kept, and a cut answer kept only up to code that stands."""

from __future__ import annotations

import pytest

from aurelis.lsp.inline.quality import keep_complete_code
from aurelis.lsp.postprocess import drop_unfinished_string
from aurelis.models.prompts import build_completion_prompt
from aurelis.models.types import ModelRequest, TaskType

HUMANEVAL_STYLE = 'def add(a, b):\n    """Return the sum of a and b."""\n'


@pytest.mark.parametrize(
    ("answer", "line_prefix", "kept"),
    [
        ("if is_", "    ", ""),  # the fragments seen: nothing of them stands
        ("context", "x = ", ""),
        ("normalize_invoice_rows(rows, cur", "totals = ", "normalize_invoice_rows(rows"),
        ("x = 1\nif is_valid and", "", "x = 1"),
        ("total = compute(a, b", "", "total = compute(a"),
        ("return value + other", "    ", "return value"),
    ],
)
def test_a_cut_answer_keeps_only_complete_tokens_that_form_valid_code(
    answer: str, line_prefix: str, kept: str
) -> None:
    assert keep_complete_code(answer, line_prefix, python=True) == kept


def test_a_last_word_the_code_already_uses_is_whole() -> None:
    before = "def square(number):\n    return number *"
    assert keep_complete_code(" number", "    return number *", True, known=before) == " number"
    assert keep_complete_code("if is_", "    ", True, known="is_valid = 1\n") == ""


def test_other_languages_lose_the_cut_word_and_dangling_operators() -> None:
    assert keep_complete_code("const total = price *", "", python=False) == "const total = price"


def test_an_unfinished_docstring_is_dropped_with_its_line() -> None:
    answer = '    x = 1\n    """Docstring that never'
    assert drop_unfinished_string(answer, "def f():\n") == "    x = 1\n"


def test_closed_strings_and_quotes_in_comments_are_left_alone() -> None:
    answer = "x = \"it's\"  # it's fine\ny = '''a\nb'''\n"
    assert drop_unfinished_string(answer) == answer


def test_a_string_the_user_opened_is_not_cut() -> None:
    assert drop_unfinished_string("more words", 'def f():\n    """Doc ') == "more words"


def _completion(task: TaskType, prompt: str) -> tuple[str, list[str], str]:
    built = build_completion_prompt(ModelRequest(prompt=prompt, task_type=task), 2048)
    return built.text, built.stops, built.lead


def test_completion_inside_a_function_stops_where_the_function_ends() -> None:
    _, stops, _ = _completion(TaskType.CODE_COMPLETION, HUMANEVAL_STYLE)
    assert {"\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#"} <= set(stops)


def test_completion_at_top_level_is_not_stopped_by_top_level_code() -> None:
    _, stops, _ = _completion(TaskType.CODE_COMPLETION, "import os\n")
    assert "\ndef " not in stops


def test_generation_from_a_signature_continues_it_without_a_worked_example() -> None:
    text, stops, lead = _completion(TaskType.CODE_GENERATION, HUMANEVAL_STYLE)

    assert text == HUMANEVAL_STYLE  # not folded into one comment line
    assert "largest" not in text and lead == ""
    assert "\ndef " in stops


def test_generation_from_words_gets_an_example_with_no_body_to_copy() -> None:
    text, _, lead = _completion(TaskType.CODE_GENERATION, "Return the mean of a list")

    assert text.endswith("# Return the mean of a list.\ndef") and lead == "def"
    assert "result =" not in text
