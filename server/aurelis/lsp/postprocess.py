"""Turning model answers into text fit for a buffer.

Chat models wrap code in fences, add a sentence before and after, repeat the code around
the cursor and ignore the indentation the code needs. Everything here is a pure function
of strings so each rule can be tested alone.
"""

from __future__ import annotations

import re
import textwrap

from aurelis.core.secrets import REDACTED, redact

__all__ = [
    "BLOCK_OPENERS",
    "CURSOR_MARKER",
    "extract_code",
    "reindent",
    "restore_secrets",
    "clean_inline",
    "drop_unfinished_string",
    "strip_comment_markers",
]

#: Marks the cursor in prompts for chat models that have no fill-in-the-middle mode.
CURSOR_MARKER = "<|CURSOR|>"
_MAX_INLINE_LINES = 40

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n`]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
_OPEN_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n`]*\n", re.M)
_PROSE = re.compile(
    r"^\s*(here(?:'s| is| are)|sure\b|certainly|of course|below\b|the following|"
    r"this (?:code|function|version|implementation)|i(?:'ve| have)\b|note\b|explanation\b|"
    r"okay\b|ok\b)",
    re.I,
)
_BLOCK_OPENERS = (":", "{", "(", "[", "=>", "->", "then", "do")
#: Line endings after which an inline suggestion may be a whole block body.
BLOCK_OPENERS = _BLOCK_OPENERS


def extract_code(answer: str) -> str:
    """The code in a model answer: the longest fenced block, else the answer minus prose."""
    blocks = [match.group(2) for match in _FENCE.finditer(answer)]
    if blocks:
        return max(blocks, key=len).rstrip("\n")
    opening = _OPEN_FENCE.search(answer)
    if opening:  # an unterminated fence: the answer was cut at max_tokens
        return answer[opening.end() :].rstrip("\n")
    lines = answer.strip("\n").splitlines()
    while lines and _is_prose(lines[0]):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _is_prose(lines[-1])):
        lines.pop()
    return "\n".join(lines)


def _is_prose(line: str) -> bool:
    stripped = line.strip()
    # Known openers, or a capitalised sentence ending in a colon ("The fixed code is:");
    # code keywords that end in a colon (if, def, class, else) are lower case.
    return bool(_PROSE.match(stripped)) or (
        stripped.endswith(":")
        and " " in stripped
        and stripped[0].isupper()
        and stripped.count(" ") >= 3
    )


def reindent(code: str, indent: str) -> str:
    """`code` with its common indentation replaced by `indent` (blank lines left empty)."""
    dedented = textwrap.dedent(code)
    return "\n".join(indent + line if line.strip() else "" for line in dedented.split("\n"))


def strip_comment_markers(text: str) -> str:
    """Docstring or comment text without the quotes or markers a model may have added."""
    text = text.strip()
    for quote in ('"""', "'''"):
        if text.startswith(quote) and text.endswith(quote) and len(text) >= 6:
            text = text[3:-3]
    if text.startswith("/**") or text.startswith("/*"):
        text = text.lstrip("/*").rstrip("*/")
    lines = [re.sub(r"^\s*(///?|#|--|\*)\s?", "", line) for line in text.splitlines()]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def restore_secrets(output: str, original: str) -> str | None:
    """Put back the secrets redaction hid from the model, or None if that is impossible.

    The model only saw `redact(original)`; a line it kept verbatim comes back holding
    "[REDACTED]" and must get the user's real line back, or applying the answer would
    overwrite the user's secret. A line that still holds the marker after that was
    changed by the model, so nobody knows what belongs there: refuse.
    """
    if REDACTED not in output:
        return output
    hidden: dict[str, str] = {}
    for line in original.splitlines():
        masked = redact(line)
        if masked != line:
            hidden.setdefault(masked.strip(), line.strip())
    restored = []
    for line in output.split("\n"):
        if REDACTED in line:
            real = hidden.get(line.strip())
            if real is None:
                return None
            line = line[: len(line) - len(line.lstrip())] + real
        restored.append(line)
    return "\n".join(restored)


def clean_inline(answer: str, prefix: str, suffix: str, *, continuation: bool = False) -> str:
    """The text to insert at the cursor, from a model's completion of prefix/suffix.

    Single line when the cursor is mid-line; several lines only on an empty line or at a
    block start; never text that repeats the prefix or the suffix. `continuation` says the
    answer continues the prefix verbatim (a base model or fill-in-the-middle): its later
    lines are indented from column 0, not relative to its first line as a chat answer's.
    """
    text = answer.replace(CURSOR_MARKER, "")
    if _OPEN_FENCE.search(text):
        text = extract_code(text)
    text = _drop_leading_prose(text)
    line_prefix = prefix[prefix.rfind("\n") + 1 :]
    line_suffix = suffix.split("\n", 1)[0]
    text = _drop_prefix_echo(text, line_prefix)
    if _starts_next_line(text, line_prefix, line_suffix):
        text = _next_lines(text, line_prefix, continuation)
        text = _cut_at_dedent(text, line_prefix)
    elif line_suffix.strip() or not _multiline_allowed(line_prefix):
        text = text.split("\n", 1)[0] if text.strip("\n") else ""
        text = _drop_suffix_echo(text, line_suffix)
    else:
        text = _cut_at_suffix(text, suffix)
        text = _match_indentation(text, line_prefix, continuation)
        text = _cut_at_dedent(text, line_prefix)
    return text.rstrip() if "\n" in text else text.rstrip("\n")


def _drop_leading_prose(text: str) -> str:
    lines = text.split("\n")
    while len(lines) > 1 and _is_prose(lines[0]):
        lines.pop(0)
    return "\n".join(lines)


def _starts_next_line(text: str, line_prefix: str, line_suffix: str) -> bool:
    """At the end of a finished line (no block opener), an answer that begins with a line
    break suggests the lines that follow: after accepting a suggestion, the next one."""
    return (
        not line_suffix.strip()
        and bool(line_prefix.strip())
        and not _multiline_allowed(line_prefix)
        and text.lstrip(" \t").startswith("\n")
    )


def _next_lines(text: str, line_prefix: str, continuation: bool) -> str:
    lines = text.lstrip(" \t").split("\n")[1:]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return ""
    indent = _indent_of(line_prefix)
    base = min(len(_indent_of(line)) for line in lines if line.strip())
    if not continuation and base < len(indent):
        # A chat answer written from column 0: it continues the current line's block.
        shift = indent[: len(indent) - base]
        lines = [shift + line if line.strip() else "" for line in lines]
    return "\n" + "\n".join(lines[:_MAX_INLINE_LINES])


def _multiline_allowed(line_prefix: str) -> bool:
    stripped = line_prefix.rstrip()
    return not stripped.strip() or stripped.endswith(_BLOCK_OPENERS)


def _drop_prefix_echo(text: str, line_prefix: str) -> str:
    typed = line_prefix.lstrip(" \t")
    candidate = text.lstrip(" \t")
    if typed.strip() and candidate.startswith(typed) and len(candidate) > len(typed):
        return candidate[len(typed) :]
    # A partial echo: the answer restarts the word or expression being typed.
    for size in range(min(len(text), len(line_prefix)), 2, -1):
        if line_prefix.endswith(text[:size]) and text[:size].strip():
            return text[size:]
    if not line_prefix.strip() and "\n" not in text:
        return text.lstrip(" \t")  # the cursor already sits after the line's indentation
    return text


def _drop_suffix_echo(text: str, line_suffix: str) -> str:
    tail = line_suffix.strip()
    if not tail:
        return text
    if text.rstrip().endswith(tail):
        return text.rstrip()[: -len(tail)]
    for size in range(min(len(text), len(tail)), 0, -1):
        if text.endswith(tail[:size]) and tail[:size] in ")]}\"';,":
            return text[:-size]
    return text


def _cut_at_suffix(text: str, suffix: str) -> str:
    """Stop where the answer starts re-generating code that already follows the cursor."""
    following = next((line.strip() for line in suffix.split("\n") if line.strip()), "")
    lines = text.split("\n")
    if following:
        for index, line in enumerate(lines[1:], start=1):
            if line.strip() == following:
                lines = lines[:index]
                break
    return "\n".join(lines[:_MAX_INLINE_LINES])


def _match_indentation(text: str, line_prefix: str, continuation: bool) -> str:
    """Fit the answer's indentation to the cursor's line."""
    lines = text.split("\n")
    if not line_prefix.strip():
        return "\n".join(_rebase(lines, line_prefix, continuation))
    return "\n".join(_indent_block_body(lines, line_prefix))


def _rebase(lines: list[str], cursor_indent: str, continuation: bool) -> list[str]:
    """Cursor on a blank line: the first line goes after the existing indentation and
    the rest continue the block that line is in."""
    if continuation and lines[0].strip():
        # The first line starts at the cursor, after the indentation already typed: the
        # later lines' columns are already the buffer's.
        return [lines[0].lstrip(" \t"), *(line if line.strip() else "" for line in lines[1:])]
    while len(lines) > 1 and not lines[0].strip():
        lines = lines[1:]
    delta = _block_delta(lines, cursor_indent)
    rebased = [lines[0].lstrip(" \t")]
    for line in lines[1:]:
        if not line.strip():
            rebased.append("")
            continue
        width = max(0, len(_indent_of(line)) + delta)
        rebased.append(_indent_like(cursor_indent or _indent_of(line), width) + line.lstrip(" \t"))
    return rebased


def _block_delta(lines: list[str], cursor_indent: str) -> int:
    """How far to shift the answer's later lines.

    A chat answer usually indents relative to its first line ("a = 1\nb = 2" for a body at
    column 4), but some write the absolute columns ("a = 1\n    b = 2"). The second line
    must continue the first line's block: deeper only after a block opener. Take the reading
    that makes it so, relative first.
    """
    relative = len(cursor_indent) - len(_indent_of(lines[0]))
    following = next((line for line in lines[1:] if line.strip()), None)
    if following is None or relative == 0:
        return relative
    opener = lines[0].rstrip().endswith(_BLOCK_OPENERS)
    allowed = len(cursor_indent) + (len(_indent_unit(cursor_indent)) if opener else 0)
    if len(_indent_of(following)) + relative <= allowed:
        return relative
    return 0 if len(_indent_of(following)) <= allowed else relative


def _cut_at_dedent(text: str, line_prefix: str) -> str:
    """Stop where a line leaves the block the cursor is in (a base model writes on into
    the next function): that code is not the completion's, and half of it misleads."""
    block = len(_indent_of(line_prefix))
    if block == 0:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() and len(_indent_of(line)) < block:
            return "\n".join(lines[:index]).rstrip()
    return text


def _indent_unit(sample: str) -> str:
    return "\t" if "\t" in sample else "    "


def _indent_block_body(lines: list[str], line_prefix: str) -> list[str]:
    """Cursor after a block opener: the body goes on new lines, indented one level deeper."""
    if lines[0].strip() and lines[0][:1] in " \t":
        lines = ["", *lines]  # an indented first line is meant as the next line
    header_indent = _indent_of(line_prefix)
    body = [line for line in lines[1:] if line.strip()]
    if not body or min(len(_indent_of(line)) for line in body) > len(header_indent):
        return lines
    # The model wrote the body at (or left of) the header's indentation: shift it in.
    base = min(len(_indent_of(line)) for line in body)
    unit = "\t" if "\t" in header_indent else "    "
    return [lines[0]] + [
        header_indent + unit + line[base:] if line.strip() else "" for line in lines[1:]
    ]


def _indent_like(sample: str, width: int) -> str:
    return "\t" * width if sample.startswith("\t") else " " * width


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def drop_unfinished_string(code: str, before: str = "") -> str:
    """`code` without the lines from where a string it opened and never closed begins.

    A generation stopped by a token or time limit inside a docstring or string literal
    leaves code that does not parse; the lines before the string still do. `before` is
    the text `code` continues (a string open there is the user's, not cut). Python's
    quoting rules: triple quotes span lines, single quotes end at the line, `#` comments.
    """
    start = _unterminated_string_start(before + code)
    if start is None or start < len(before):
        return code
    line_start = (before + code).rfind("\n", 0, start) + 1
    return code[: max(line_start - len(before), 0)].rstrip(" \t")


def _unterminated_string_start(text: str) -> int | None:
    index, quote, opened = 0, "", 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if text.startswith(quote, index):
                index += len(quote)
                quote = ""
                continue
            if char == "\n" and len(quote) == 1:
                quote = ""  # an unclosed one-line string ends at the line (a SyntaxError)
        elif char == "#":
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
            continue
        elif char in "'\"":
            quote = char * 3 if text.startswith(char * 3, index) else char
            opened = index
            index += len(quote)
            continue
        index += 1
    return opened if quote else None
