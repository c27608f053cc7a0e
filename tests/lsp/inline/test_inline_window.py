"""The local model's prompt window: bounded by lines and tokens, with a start that stays
put while the user types (so llama.cpp re-uses the KV cache of the previous prompt)."""

from __future__ import annotations

from aurelis.lsp.inline.window import ChunkCounter, WindowLimits, window_around


def words(text: str) -> int:
    """A token counter for tests: one token per whitespace-separated word."""
    return len(text.split())


def numbered_lines(count: int) -> str:
    return "".join(f"line_{index} = {index}\n" for index in range(count))


LIMITS = WindowLimits(
    prefix_lines=40, suffix_lines=5, prefix_tokens=10_000, suffix_tokens=10_000, align_lines=16
)


def test_the_prefix_ends_at_the_cursor_and_starts_on_an_aligned_line() -> None:
    text = numbered_lines(200)
    offset = text.index("line_100 = 100") + len("line_100")

    window = window_around(text, offset, LIMITS, words)

    assert window.prefix.endswith("line_100")
    assert window.start_line % 16 == 0
    assert window.start_line <= 100 - 40
    assert window.prefix.startswith(f"line_{window.start_line} = ")


def test_typing_on_the_same_line_keeps_the_start_and_the_text_before_the_line() -> None:
    text = numbered_lines(200)
    cursor = text.index("line_101")
    before = window_around(text, cursor, LIMITS, words)

    typed = text[:cursor] + "values = sorted(r" + text[cursor:]
    after = window_around(typed, cursor + len("values = sorted(r"), LIMITS, words)

    assert after.start_line == before.start_line
    assert after.prefix.startswith(before.prefix)  # the old prompt is a prefix of the new


def test_moving_down_within_an_aligned_block_keeps_the_start() -> None:
    text = numbered_lines(200)
    starts = {
        window_around(text, text.index(f"line_{line} ="), LIMITS, words).start_line
        for line in range(113, 128)  # 113 - 40 = 73 .. 127 - 40 = 87: all align down to 64/80
    }

    assert len(starts) <= 2  # changes at most once, at a multiple of 16


def test_the_token_cap_drops_whole_chunks_from_the_front() -> None:
    text = numbered_lines(200)
    offset = text.index("line_150")
    limits = WindowLimits(
        prefix_lines=100, suffix_lines=0, prefix_tokens=60, suffix_tokens=0, align_lines=16
    )

    window = window_around(text, offset, limits, words)

    assert words(window.prefix) <= 60
    assert window.start_line % 16 == 0
    assert window.prefix.startswith(f"line_{window.start_line} = ")
    assert window.prefix.endswith("line_149 = 149\n")


def test_the_cursor_line_is_kept_even_when_it_alone_is_over_budget() -> None:
    text = "x = 1\n" + "y = " + " + ".join(["1"] * 50)
    window = window_around(text, len(text), LIMITS.__class__(5, 0, 3, 0, 16), words)

    assert window.prefix.endswith(" + 1")


def test_the_suffix_holds_the_rest_of_the_line_and_the_next_lines_within_budget() -> None:
    text = numbered_lines(50)
    offset = text.index("line_10 = 10") + len("line_10")
    window = window_around(text, offset, LIMITS, words)

    assert window.suffix == " = 10\n" + "".join(f"line_{i} = {i}\n" for i in range(11, 16))
    capped = window_around(text, offset, WindowLimits(40, 5, 10_000, 8, 16), words)
    assert capped.suffix == " = 10\nline_11 = 11\nline_12 = 12\n"


def test_a_window_at_the_top_of_the_file_starts_at_line_zero() -> None:
    text = "import os\n\ndef f(r):\n    "
    window = window_around(text, len(text), LIMITS, words)

    assert window.start_line == 0 and window.prefix == text


def test_chunk_counts_are_remembered() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return words(text)

    counter = ChunkCounter(counting)
    text = numbered_lines(100)
    no_suffix = WindowLimits(40, 0, 10_000, 0, 16)
    window_around(text, text.index("line_90"), no_suffix, counter)
    first = len(calls)
    window_around(text, text.index("line_90") + 3, no_suffix, counter)

    assert len(calls) == first + 1  # only the chunk being typed in is counted again
