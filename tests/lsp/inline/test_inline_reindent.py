"""Inline suggestions continue the block they are in: continuation lines get the block's
indentation, whether the answer came from a base model (columns from 0) or a chat model
(columns relative to its first line)."""

from __future__ import annotations

from aurelis.lsp.postprocess import clean_inline

PREFIX = "import math\n\n\ndef summarize(r):\n    "
SUFFIX = "\n\n\ndef other():\n    pass\n"


def test_a_base_model_body_keeps_its_columns_inside_def() -> None:
    # The model continued "    " with its own text: its second line is already at column 4.
    answer = "values = sorted(r)\n    return values\n"

    assert clean_inline(answer, PREFIX, SUFFIX, continuation=True) == (
        "values = sorted(r)\n    return values"
    )


def test_a_chat_answer_relative_to_its_first_line_is_shifted_into_the_block() -> None:
    answer = "values = sorted(r)\nreturn values"

    assert clean_inline(answer, PREFIX, SUFFIX) == "values = sorted(r)\n    return values"


def test_a_chat_answer_with_absolute_columns_is_not_shifted_twice() -> None:
    answer = "values = sorted(r)\n    return values"

    assert clean_inline(answer, PREFIX, SUFFIX) == "values = sorted(r)\n    return values"


def test_a_nested_block_keeps_its_extra_level() -> None:
    answer = "for value in r:\n        print(value)\n    return r"

    assert clean_inline(answer, PREFIX, SUFFIX, continuation=True) == (
        "for value in r:\n        print(value)\n    return r"
    )


def test_code_after_the_block_ends_is_cut() -> None:
    answer = "return sum(r)\n\ndef summarize_all(rows):\n    return rows"

    assert clean_inline(answer, PREFIX, SUFFIX, continuation=True) == "return sum(r)"


def test_at_the_end_of_a_finished_line_the_next_line_is_suggested() -> None:
    prefix = PREFIX + "values = sorted(r)"

    assert clean_inline("\n    return values", prefix, SUFFIX, continuation=True) == (
        "\n    return values"
    )
    assert clean_inline("\nreturn values", prefix, SUFFIX) == "\n    return values"


def test_mid_line_only_the_rest_of_the_line_is_kept() -> None:
    prefix = PREFIX + "values = sorted("
    suffix = ")\n" + SUFFIX

    assert clean_inline("r, reverse=True\n    return x", prefix, suffix, continuation=True) == (
        "r, reverse=True"
    )
