"""Post-processing a model's answer: code out of chatter, indentation, inline clean-up
and secrets put back where the model kept them."""

from __future__ import annotations

from aurelis.lsp.postprocess import clean_inline, extract_code, reindent, restore_secrets


def test_extract_code_takes_the_fenced_block_and_drops_the_chatter() -> None:
    answer = "Sure! Here it is:\n```python\ndef f():\n    return 1\n```\nHope this helps."
    assert extract_code(answer) == "def f():\n    return 1"


def test_extract_code_keeps_a_block_cut_off_at_max_tokens() -> None:
    assert extract_code("```python\ndef f():\n    return") == "def f():\n    return"


def test_reindent_moves_code_to_the_target_indentation() -> None:
    assert reindent("    if x:\n        y()\n", "  ") == "  if x:\n      y()\n"


def test_inline_drops_the_echoed_line_prefix() -> None:
    assert clean_inline("return a + b", "def f(a, b):\n    return ", "\n") == "a + b"


def test_inline_mid_line_is_one_line_without_the_repeated_suffix() -> None:
    assert clean_inline("x, y)\nmore()", "call(", ")\n") == "x, y"


def test_inline_after_a_statement_stays_on_one_line() -> None:
    assert clean_inline("  # done\nprint(1)", "total = 3", "\n") == "  # done"


def test_inline_at_a_block_start_continues_on_indented_lines() -> None:
    assert clean_inline("return 1", "def f():", "\n") == "return 1"
    assert clean_inline("\nreturn 1", "    def f():", "\n") == "\n        return 1"


def test_inline_stops_where_the_code_after_the_cursor_begins() -> None:
    answer = "a = 1\nb = 2\nprint(a, b)\nprint('again')"
    assert clean_inline(answer, "def main():\n    ", "\n    print(a, b)\n") == "a = 1\n    b = 2"


def test_restore_secrets_puts_back_lines_the_model_kept() -> None:
    original = 'def f():\n    key = "ghp_0123456789abcdefghij0123456789abcd"\n    return key\n'
    answer = 'def f():\n    key = "[REDACTED]"\n    return key.strip()'
    assert restore_secrets(answer, original) == (
        'def f():\n    key = "ghp_0123456789abcdefghij0123456789abcd"\n    return key.strip()'
    )


def test_restore_secrets_refuses_a_changed_secret_line() -> None:
    original = 'key = "ghp_0123456789abcdefghij0123456789abcd"\n'
    assert restore_secrets('secret_key = "[REDACTED]"', original) is None
