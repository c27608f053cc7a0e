"""Quality gates for inline suggestions: what is never worth showing.

Small models fall into loops (`r r r r`, `))))`, the same line over and over), answer with
whitespace, or re-type the code that already follows the cursor. A suggestion like that
costs the user a look and an Escape; an empty answer costs nothing. These checks are pure
functions of strings, cheap enough for every suggestion.
"""

from __future__ import annotations

import builtins
import codeop
import keyword
import re
import warnings

__all__ = ["drop_repetition", "is_degenerate", "echoes_suffix", "keep_complete_code"]

#: Tokens for the loop check: identifiers and numbers, or single punctuation marks.
_TOKEN = re.compile(r"\w+|[^\w\s]")
#: How many times in a row a unit may appear before it is a loop: a word (`r r r r`), a
#: punctuation mark (`))))` closes nested calls; eight do not), a pair or triple of tokens.
_WORD_REPEATS = 4
_MARK_REPEATS = 8
_GROUP_REPEATS = 5
#: The same non-blank line this many times in a row.
_MIN_LINE_REPEATS = 3
#: Punctuation runs such as `====` or `----` separators are legitimate in comments.
_RULER = re.compile(r"^[ \t]*(#|//|--|/\*|\*)?[ \t]*([=\-_*#~+.])\2{3,}[ \t]*$")


def drop_repetition(text: str) -> str:
    """`text` cut before the point where it starts looping; "" when it loops from the start.

    What comes before the loop is kept only up to the last complete line: half a line
    followed by nothing is rarely what the model meant.
    """
    start = _loop_start(text)
    if start is None:
        return text
    head = text[:start]
    newline = head.rfind("\n")
    kept = head[:newline] if newline >= 0 else ""
    return kept if kept.strip() else ""


def _loop_start(text: str) -> int | None:
    """Offset of the first repetition loop in `text`, or None."""
    starts = [
        start for start in (_token_loop_start(text), _line_loop_start(text)) if start is not None
    ]
    return min(starts) if starts else None


def _token_loop_start(text: str) -> int | None:
    matches = list(_TOKEN.finditer(text))
    tokens = [match.group() for match in matches]
    for index in range(len(tokens)):
        for size in (1, 2, 3):
            if _repeats(tokens, index, size) >= _needed(tokens[index : index + size]):
                offset = matches[index].start()
                if not _is_ruler(text, offset):
                    return offset
    return None


def _repeats(tokens: list[str], index: int, size: int) -> int:
    unit = tokens[index : index + size]
    if len(unit) < size:
        return 0
    count = 1
    while tokens[index + count * size : index + (count + 1) * size] == unit:
        count += 1
    return count


def _needed(unit: list[str]) -> int:
    if len(unit) > 1:
        return _GROUP_REPEATS
    return _WORD_REPEATS if unit[0][0].isalnum() or unit[0][0] == "_" else _MARK_REPEATS


def _is_ruler(text: str, offset: int) -> bool:
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return bool(_RULER.match(line))


def _line_loop_start(text: str) -> int | None:
    offset = 0
    run_line, run_length, run_start = "", 0, 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped and stripped == run_line:
            run_length += 1
            if run_length >= _MIN_LINE_REPEATS:
                return run_start
        else:
            run_line, run_length, run_start = stripped, 1, offset
        offset += len(line) + 1
    return None


def echoes_suffix(text: str, suffix: str) -> bool:
    """Whether `text` only re-types what follows the cursor (this line or the next ones)."""
    typed = text.strip()
    if not typed:
        return False
    following = suffix.lstrip()
    if following.startswith(typed):
        return True
    # A suggestion whose lines are the next lines of the buffer, indentation aside.
    text_lines = [line.strip() for line in text.strip("\n").split("\n") if line.strip()]
    next_lines = [line.strip() for line in suffix.split("\n") if line.strip()][: len(text_lines)]
    return len(text_lines) > 0 and text_lines == next_lines


def is_degenerate(text: str, suffix: str) -> bool:
    """Nothing worth showing: whitespace only, a loop, or an echo of the code after it."""
    if not text.strip():
        return True
    if _loop_start(text) is not None:
        return True
    return echoes_suffix(text, suffix)


#: Finish reasons that mean the model was stopped mid-answer, not at a natural end.
CUT_SHORT = frozenset({"time_limit", "length"})
_LAST_WORD = re.compile(r"[A-Za-z0-9_]+$")
_DANGLING = re.compile(
    r"(?:\b(?:if|elif|while|for|in|and|or|not|is|with|as|import|from|def|class|lambda|"
    r"await|yield|else|try|except|assert|del|global|return|raise)|[=+\-*/%<>!&|^~,.@:\\])"
    r"[ \t]*$"
)
_NOT_ALONE = ("elif", "else", "except", "finally", "case")


def keep_complete_code(text: str, line_prefix: str, python: bool, known: str = "") -> str:
    """A suggestion stopped mid-answer, kept up to its last complete token that leaves
    valid code (never `if is_`); "" when nothing is left.

    Its last word may have been cut anywhere, so it goes unless it is a whole name the
    code before the cursor (`known`) already uses or a Python keyword or builtin; then
    whatever leaves the line dangling (an operator, a keyword that needs more) goes. For
    Python, the line must then be valid or a valid start of a statement (what `codeop`
    accepts); tokens are dropped from the end until it is.
    """
    head, newline, last = text.rpartition("\n")
    word = _LAST_WORD.search(last)
    if word is not None and not _is_whole_name(word.group(), known):
        last = last[: word.start()]
    while True:
        trimmed = _DANGLING.sub("", last).rstrip()
        if trimmed == last.rstrip():
            break
        last = trimmed
    start = line_prefix if not newline else ""
    while python and last.strip() and not _valid_start(start + last):
        last = _drop_last_token(last)
    if last.strip():
        return head + newline + last.rstrip()
    return head.rstrip() if newline else ""


def _is_whole_name(word: str, known: str) -> bool:
    if keyword.iskeyword(word) or word in dir(builtins):
        return True
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", known) is not None


def _valid_start(line: str) -> bool:
    statement = line.strip()
    if statement.startswith(_NOT_ALONE):
        return True  # valid only after its block opener, which this line alone lacks
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            codeop.compile_command(statement, symbol="exec")
    except SyntaxError as error:
        # `return`, `yield`, `break` alone are fine inside the function the buffer holds.
        return "outside" in str(error.msg)
    except (ValueError, OverflowError):
        return False
    return True


def _drop_last_token(line: str) -> str:
    matches = list(_TOKEN.finditer(line))
    return line[: matches[-1].start()].rstrip() if matches else ""
