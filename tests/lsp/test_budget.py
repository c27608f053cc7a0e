"""Fitting text into a token budget from either end, on line boundaries."""

from __future__ import annotations

from aurelis.lsp.budget import fit_head, fit_tail
from aurelis.models.tokens import count_tokens


def test_fit_tail_keeps_the_end_within_budget_from_a_line_start() -> None:
    text = "".join(f"line_{i} = value_{i} * 2\n" for i in range(2000))
    kept = fit_tail(text, 100)
    assert count_tokens(kept) <= 100
    assert text.endswith(kept) and kept.startswith("line_")


def test_fit_head_keeps_the_start_within_budget_to_a_line_end() -> None:
    text = "".join(f"line_{i} = value_{i} * 2\n" for i in range(2000))
    kept = fit_head(text, 100)
    assert count_tokens(kept) <= 100
    assert text.startswith(kept) and kept.endswith("\n")
