"""Showing answers: highlighted on a terminal, byte-for-byte plain when piped.

`StreamRenderer` takes text in arbitrary chunks (a stream, or a whole answer at once) and
prints it line by line: prose as it arrives, fenced code blocks highlighted with the
block's language. An answer with no fences whose first line looks like code (the local
base model continues code without fences) is highlighted as a whole in the language the
caller suggests. Each code line is highlighted with the whole block so far as context,
so multi-line strings and comments keep their colours.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from aurelis.cli.task_detection import looks_like_code

__all__ = [
    "StreamRenderer",
    "PlainWriter",
    "make_writer",
    "print_answer",
    "summary_line",
    "response_to_dict",
    "print_json",
]

CODE_THEME = "monokai"


class StreamRenderer:
    """Incremental Markdown-ish renderer for a terminal."""

    def __init__(self, console: Console, *, language: str | None = None) -> None:
        self._console = console
        self._language = language
        self._buffer = ""
        self._line_started = False  # part of the current prose line is already printed
        self._first_line = True
        self._in_code = False
        self._implicit = False  # an unfenced answer treated as one code block
        self._code_language: str | None = None
        self._code_lines: list[str] = []
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        """Everything fed so far, unrendered."""
        return "".join(self.text_parts)

    def feed(self, chunk: str) -> None:
        """Print what `chunk` completes; keep an unfinished code or fence line buffered."""
        if not chunk:
            return
        self.text_parts.append(chunk)
        self._buffer += chunk
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            self._emit_line(line)
        self._emit_partial()

    def finish(self) -> None:
        """Flush the last line and end with a newline."""
        if self._buffer or self._line_started:
            line, self._buffer = self._buffer, ""
            self._emit_line(line)
        self._console.file.flush()

    # --- lines -------------------------------------------------------------------------
    def _emit_partial(self) -> None:
        # Prose streams character by character; code and possible fence lines wait for
        # their newline (a line is highlighted as a whole).
        if not self._buffer or self._in_code or self._first_line:
            return
        if not self._line_started and self._buffer.lstrip().startswith("`"):
            return
        self._console.out(self._buffer, end="", highlight=False)
        self._line_started = True
        self._buffer = ""

    def _emit_line(self, line: str) -> None:
        if self._line_started:
            self._console.out(line, highlight=False)
            self._line_started = False
            return
        if self._first_line:
            self._first_line = False
            if self._language and not _is_fence(line) and looks_like_code(line):
                # An unfenced code answer: the whole thing is one block.
                self._in_code, self._code_language = True, self._language
                self._implicit = True
        if _is_fence(line):
            self._fence(line)
        elif self._in_code:
            self._code_line(line)
        else:
            self._console.out(line, highlight=False)

    def _fence(self, line: str) -> None:
        if self._in_code and not self._implicit:
            self._in_code = False
        else:
            self._in_code, self._implicit = True, False
            self._code_language = line.strip()[3:].strip() or self._language or "text"
        self._code_lines = []
        self._console.print(Text(line, style="dim"))

    def _code_line(self, line: str) -> None:
        self._code_lines.append(line)
        block = "\n".join(self._code_lines)
        syntax = Syntax(
            block, self._code_language or "text", theme=CODE_THEME, background_color="default"
        )
        highlighted = syntax.highlight(block).split("\n", allow_blank=True)
        last = highlighted[len(self._code_lines) - 1] if highlighted else Text(line)
        last.rstrip()
        self._console.print(last, soft_wrap=True)


def _is_fence(line: str) -> bool:
    return line.lstrip().startswith("```")


class PlainWriter:
    """Writes chunks exactly as they come (output piped to a file or another program)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def feed(self, chunk: str) -> None:
        if not chunk:
            return
        self.text_parts.append(chunk)
        stream = self._stream or sys.stdout
        stream.write(chunk)
        stream.flush()

    def finish(self) -> None:
        stream = self._stream or sys.stdout
        if self.text_parts and not self.text.endswith("\n"):
            stream.write("\n")
        stream.flush()


def make_writer(console: Console, *, language: str | None) -> StreamRenderer | PlainWriter:
    """A highlighting renderer on a terminal, a plain writer otherwise."""
    if console.is_terminal:
        return StreamRenderer(console, language=language)
    return PlainWriter()


def print_answer(content: str, console: Console, *, language: str | None) -> None:
    """Print a whole answer (see `make_writer`)."""
    writer = make_writer(console, language=language)
    writer.feed(content)
    writer.finish()


def summary_line(
    *,
    model: str,
    tokens: int | None,
    seconds: float,
    task: str | None = None,
    cached: bool = False,
    approximate: bool = False,
) -> str:
    """`model: local · tokens: 271 · time: 6.66s · task: code_generation`."""
    parts = [f"model: {model}"]
    if tokens is not None:
        parts.append(f"tokens: {'~' if approximate else ''}{tokens}")
    parts.append(f"time: {seconds:.2f}s")
    if task:
        parts.append(f"task: {task}")
    if cached:
        parts.append("cached")
    return " · ".join(parts)


def response_to_dict(response: Any) -> dict[str, Any]:
    """The JSON shape of a ModelResponse (the fields of docs/orchestrator-api.md)."""
    model = response.model_used
    return {
        "content": response.content,
        "model_used": getattr(model, "value", str(model)),
        "tokens_used": response.tokens_used,
        "processing_time": response.processing_time,
        "cached": response.cached,
        "metadata": response.metadata or {},
    }


def print_json(value: Any) -> None:
    """One JSON document on one line of stdout."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
