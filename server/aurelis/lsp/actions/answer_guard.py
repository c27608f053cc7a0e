"""What a model's answer may put into the user's code, and what it may not.

Two checks stand between an action's answer and the document:

- **Echoed scaffolding.** A weak model may repeat the prompt it was given instead of
  answering: our markers (`<<the code this request is about>>`), our section headings
  (`## Request`, `## Existing code`, `### path/of/a/file.py` context headers) or a chat
  template's tags (`[INST]`, `[/INST]`, `<<SYS>>`, `<start_of_turn>`, `<|im_start|>` …).
  The answer is cut at the first such line; what comes before it is the answer. If nothing
  is left, the action fails with a message and nothing is applied.
- **Size.** Each action inserts at most `INSERT_LIMITS[action]` lines (a docstring is not
  200 lines). A longer change is refused with a message saying what was asked and what came
  back, so the user can select less or ask again; it is never cut silently.

Read-only actions (explain, analyze) only show Markdown: they are cleaned, never limited.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import MappingProxyType
from typing import TypeVar

from aurelis.lsp.errors import RequestFailed

__all__ = ["INSERT_LIMITS", "check_insert_size", "guarded", "strip_echo"]

C = TypeVar("C")

#: Most lines each code-changing action may insert. A rewrite may also grow its target
#: to `REWRITE_GROWTH` times its own length when that is more.
INSERT_LIMITS = MappingProxyType(
    {
        "document": 40,
        "generate": 150,
        "refactor": 200,
        "optimize": 200,
        "addErrorHandling": 200,
        "generateTests": 400,
    }
)
REWRITE_GROWTH = 3
_REWRITES = frozenset({"refactor", "optimize", "addErrorHandling"})

_ECHO_LINE = re.compile(
    r"<<the code this request is about>>"
    r"|\[/?INST\]|<</?SYS>>?"
    r"|<\|(?:im_start|im_end|system|user|assistant|eot_id|start_header_id|end_header_id)\|>"
    r"|<(?:start|end)_of_turn>"
    r"|^\s*#{2,3} (?:Request|Existing code|Project structure|Error patterns|"
    r"Diagnostics|Open documents|Related files|Imports)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def guarded(action: str, finish: Callable[[str], C], document_text: str) -> Callable[[str], C]:
    """`finish` (answer -> change) with both checks around it.

    The change is a Replacement (`start`, `end`, `text`), a NewFileEdit (`text`) or Markdown
    (`text`, never limited); read by attribute so this module needs none of their types.
    """

    def checked(answer: str) -> C:
        change = finish(strip_echo(answer))
        start, end = getattr(change, "start", None), getattr(change, "end", None)
        replaced = document_text[start:end] if start is not None and end is not None else ""
        text = getattr(change, "text", "")
        if start is not None or hasattr(change, "target"):  # code goes into a file
            check_insert_size(action, text, replaced)
        return change

    return checked


def strip_echo(answer: str) -> str:
    """`answer` up to the first line that repeats our prompt scaffolding.

    RequestFailed when the answer is nothing but such an echo.
    """
    match = _ECHO_LINE.search(answer)
    if match is None:
        return answer
    kept = answer[: answer.rfind("\n", 0, match.start()) + 1]
    if not _has_content(kept):
        raise RequestFailed(
            "Aurelis: the model repeated its instructions instead of answering; nothing was "
            "applied (try again, or route this task to a stronger model)"
        )
    return kept


def check_insert_size(action: str, inserted: str, replaced: str = "") -> None:
    """RequestFailed when `inserted` is longer than `action` may insert."""
    limit = INSERT_LIMITS.get(action)
    if limit is None:
        return
    if action in _REWRITES:
        limit = max(limit, REWRITE_GROWTH * _line_count(replaced))
    lines = _line_count(inserted)
    if lines > limit:
        raise RequestFailed(
            f"Aurelis: the model's answer for {action} is {lines} lines, more than the "
            f"{limit} this action inserts; nothing was applied (select less code, or ask "
            "again)"
        )


def _line_count(text: str) -> int:
    return len(text.strip("\n").splitlines())


def _has_content(text: str) -> bool:
    # A lone opening fence is what is left when the echo started inside the code block.
    return any(line.strip() and not line.strip().startswith("```") for line in text.splitlines())
