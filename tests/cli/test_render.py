"""Rendering answers: highlighted code on a terminal, the exact text anywhere else."""

from __future__ import annotations

import io
import re

from rich.console import Console

from aurelis.cli.render import PlainWriter, StreamRenderer, make_writer, summary_line

ANSWER = (
    'Here is the function:\n```python\ndef fib(n):\n    """Return the n-th number.\n'
    '    Uses a loop."""\n    return n\n```\nCall it with [n].\n'
)
SGR = re.compile(r"\x1b\[[0-9;]*m")


def _terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="256",
        width=100,
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    return console, buffer


def _render(chunks: list[str], language: str | None = None) -> str:
    console, buffer = _terminal()
    renderer = StreamRenderer(console, language=language)
    for chunk in chunks:
        renderer.feed(chunk)
    renderer.finish()
    return buffer.getvalue()


def _lines(rendered: str) -> dict[str, str]:
    """Plain text of each line -> the raw line with its escape codes."""
    return {SGR.sub("", line): line for line in rendered.splitlines()}


def test_code_blocks_are_highlighted_and_prose_is_not() -> None:
    lines = _lines(_render([ANSWER]))
    assert SGR.search(lines["def fib(n):"])
    assert SGR.search(lines["    return n"])
    assert not SGR.search(lines["Here is the function:"])
    # Brackets are text, not rich markup.
    assert lines["Call it with [n]."] == "Call it with [n]."


def test_a_docstring_line_keeps_the_string_colour_of_its_block() -> None:
    lines = _lines(_render([ANSWER]))
    opening = SGR.findall(lines['    """Return the n-th number.'])
    continued = SGR.findall(lines['    Uses a loop."""'])
    # The continuation line of the docstring is coloured as a string, like the opening.
    assert continued and continued[0] in opening


def test_the_text_is_the_same_however_it_is_chunked() -> None:
    whole = _render([ANSWER])
    by_char = _render(list(ANSWER))
    assert SGR.sub("", by_char) == SGR.sub("", whole) == ANSWER
    assert by_char == whole


def test_an_unfenced_code_answer_is_highlighted_in_the_suggested_language() -> None:
    rendered = _lines(_render(["def add(a, b):\n    return a + b\n"], language="python"))
    assert SGR.search(rendered["def add(a, b):"])
    prose = _lines(_render(["Sure, here it is:\nthe end\n"], language="python"))
    assert not any(SGR.search(line) for line in prose.values())


def test_plain_writer_writes_exactly_the_text_plus_a_final_newline() -> None:
    stream = io.StringIO()
    writer = PlainWriter(stream)
    for chunk in ["```py", "thon\nx = 1\n", "```"]:
        writer.feed(chunk)
    writer.finish()
    assert stream.getvalue() == "```python\nx = 1\n```\n"
    assert writer.text == "```python\nx = 1\n```"


def test_make_writer_highlights_only_on_a_terminal() -> None:
    console, _ = _terminal()
    assert isinstance(make_writer(console, language=None), StreamRenderer)
    piped = Console(file=io.StringIO())
    assert isinstance(make_writer(piped, language=None), PlainWriter)


def test_summary_line_has_model_tokens_and_time() -> None:
    line = summary_line(model="local", tokens=271, seconds=6.655, task="code_generation")
    assert line == "model: local · tokens: 271 · time: 6.66s · task: code_generation"
    assert "tokens: ~12" in summary_line(model="x", tokens=12, seconds=1, approximate=True)
    assert summary_line(model="x", tokens=1, seconds=1, cached=True).endswith("cached")
