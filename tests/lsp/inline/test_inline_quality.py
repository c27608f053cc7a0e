"""Quality gates: loops, blank answers and echoes of the code after the cursor are never
shown; good code is left alone."""

from __future__ import annotations

import pytest

from aurelis.lsp.inline.quality import drop_repetition, echoes_suffix, is_degenerate


@pytest.mark.parametrize(
    "answer",
    [
        "r r r r r r r",
        "self.self.self.self.self.self.",
        "))))))))))",
        "x = 1\nx = 1\nx = 1\n",
        "   \n\t\n",
        "",
    ],
)
def test_loops_and_blank_answers_are_degenerate(answer: str) -> None:
    assert is_degenerate(answer, "\n")


@pytest.mark.parametrize(
    "answer",
    [
        "return sorted(r, reverse=True)",
        "f(g(h(i(x))))",
        "total = 1_000_000_000",
        "# ==========",
        "values = [0, 0, 0, 0]",
        "if a:\n    b = 1\nelse:\n    b = 2",
    ],
)
def test_ordinary_code_is_not_degenerate(answer: str) -> None:
    assert not is_degenerate(answer, "\n")


def test_an_answer_that_retypes_the_following_code_is_degenerate() -> None:
    suffix = "\n    return total\n\n\ndef other():\n"
    assert echoes_suffix("return total", suffix)
    assert is_degenerate("\n    return total", suffix)
    assert not is_degenerate("total += 1", suffix)


def test_drop_repetition_keeps_the_complete_lines_before_a_loop() -> None:
    answer = "values = sorted(r)\nreturn r r r r r r"
    assert drop_repetition(answer) == "values = sorted(r)"


def test_drop_repetition_leaves_nothing_when_the_loop_starts_at_once() -> None:
    assert drop_repetition("r r r r r r") == ""


def test_drop_repetition_leaves_good_code_alone() -> None:
    answer = "total = 0\nfor value in r:\n    total += value"
    assert drop_repetition(answer) == answer
