"""Retention: how much of an accepted suggestion is still where it was inserted."""

from __future__ import annotations

from aurelis.lsp.inline.retention import CONTEXT_CHARS, Placement, retained_characters

BEFORE = "def total(first, second):\n    return "
AFTER = "\n\nprint(total(1, 2))\n"
ACCEPTED = "first + second"


def _placement(before: str = BEFORE, after: str = AFTER) -> Placement:
    return Placement(len(before), before[-CONTEXT_CHARS:], after[:CONTEXT_CHARS])


def test_untouched_text_is_retained_whole() -> None:
    assert retained_characters(ACCEPTED, _placement(), BEFORE + ACCEPTED + AFTER) == 14


def test_half_deleted_counts_the_half_kept() -> None:
    assert retained_characters(ACCEPTED, _placement(), BEFORE + "first" + AFTER) == 5


def test_everything_deleted_counts_nothing_even_with_similar_code_after() -> None:
    assert retained_characters(ACCEPTED, _placement(), BEFORE + AFTER) == 0


def test_edits_above_the_insertion_do_not_lose_it() -> None:
    current = "import os\n\n" + BEFORE + ACCEPTED + AFTER
    assert retained_characters(ACCEPTED, _placement(), current) == 14


def test_a_changed_name_keeps_the_rest() -> None:
    current = BEFORE + "first + third" + AFTER
    # Characters shared in order: "first + " and the final "d" of "second"/"third".
    assert retained_characters(ACCEPTED, _placement(), current) == len("first + ") + 1


def test_without_the_text_after_a_window_of_the_suggestion_is_compared() -> None:
    # The code after the insertion was rewritten: only runs of a few characters count.
    current = BEFORE + "first + second" + "\nx = 1\n"
    assert retained_characters(ACCEPTED, _placement(), current) == 14
    assert retained_characters(ACCEPTED, _placement(), BEFORE + "\nx = s + e\n") == 0
