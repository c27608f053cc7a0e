"""Task auto-detection: which TaskType a free-form prompt asks for.

Shared by `aurelis ask` and the shell. A pure function of the prompt (and whether code is
attached), so it is cheap, deterministic and easy to test. The rules, in order:

1. **Keywords.** Only the prose counts: fenced blocks and `inline code` are removed first,
   so a prompt that *contains* code mentioning "test" is not a testing request. Each task
   has phrases in the imperative or question form ("explain this", "write tests",
   "add docstrings", "speed up", "refactor", "review", "write a function"). Specific
   tasks (testing, documentation, refactoring, optimization, analysis, explanation) beat
   plain code generation, so "write tests for parse()" is testing; among specific tasks
   the phrase that comes first wins ("refactor this and add docstrings" is refactoring).
2. **Code shape.** A prompt that is itself source code (most lines look like code) asks to
   be continued: code completion.
3. **A question about code.** A question with code attached (a file, or a fenced block in
   the prompt) is an explanation.
4. Otherwise: general.

Only the first `MAX_SCANNED_CHARS` characters are read and every pattern runs in time
linear in what it reads, so a pasted megabyte on one line answers as fast as a page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aurelis.models.types import TaskType

__all__ = ["TaskDetection", "detect_task", "looks_like_code", "strip_code"]


@dataclass(frozen=True)
class TaskDetection:
    """The detected task and a short human reason (shown before a request is sent)."""

    task: TaskType
    reason: str


def _phrases(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_DET = r"(?:(?:a|an|the|this|that|these|those|my|our|some|its|it)\s+)?"
_ADJ = r"(?:(?:unit|integration|regression|property[- ]based|more|missing|new|pytest|jest)\s+)*"

# Specific tasks, in the order that breaks a tie at the same position.
_SPECIFIC: tuple[tuple[TaskType, re.Pattern[str]], ...] = (
    (
        TaskType.TESTING,
        _phrases(
            rf"\b(?:write|add|create|generate|give\s+me)\s+{_DET}{_ADJ}tests?\b",
            r"\b(?:unit|integration|regression)\s+tests?\b",
            r"\btest\s+(?:cases?|suite|coverage)\b",
            r"\btests?\s+for\b",
            r"\b(?:pytest|unittest|jest|junit)\b",
        ),
    ),
    (
        TaskType.DOCUMENTATION,
        _phrases(
            r"^\s*document\b",
            r"\bdocument\s+(?:this|it|that|these|them|my|the\s+(?:code|function|class|module|api))\b",
            r"\bdocstrings?\b",
            r"\bdocumentation\b",
            r"\b(?:jsdoc|javadoc|readme)\b",
            r"\badd\s+(?:\w+\s+)?comments?\b",
        ),
    ),
    (
        TaskType.REFACTORING,
        _phrases(
            r"\brefactor\w*",
            r"\bclean\s+(?:\w+\s+)?up\b",
            r"\brestructure\b",
            r"\brename\b",
            rf"\bsimplify\s+{_DET}",
            r"\bextract\s+(?:a\s+|the\s+)?(?:function|method|class|helper)\b",
            r"\bmore\s+readable\b",
        ),
    ),
    (
        TaskType.CODE_OPTIMIZATION,
        _phrases(
            r"\boptimi[sz]e\b",
            r"\boptimi[sz]ation\b",
            r"\bspeed\s+up\b",
            r"\b(?:faster|quicker)\b",
            r"\bmore\s+efficient\b",
            r"\b(?:improve|boost)\s+(?:the\s+)?performance\b",
            r"\b(?:memory|cpu)\s+usage\b",
        ),
    ),
    (
        TaskType.ANALYSIS,
        _phrases(
            r"\breview\b",
            r"\banaly[sz]e\b",
            r"\banalysis\b",
            r"\baudit\b",
            r"\b(?:find|spot|look\s+for)\s+(?:the\s+|any\s+|some\s+)?(?:bugs?|issues|problems)\b",
            r"\bsecurity\b",
            r"\bvulnerab\w*",
            r"\bwhat'?s\s+wrong\b",
            r"\bcode\s+smells?\b",
            r"\bfix\s+(?:the\s+|this\s+|a\s+|my\s+)?(?:bugs?|errors?|crash(?:es)?|issues?)\b",
            r"\bdebug\b",
        ),
    ),
    (
        TaskType.EXPLANATION,
        _phrases(
            # The longer phrase first: it makes the better reason at the same position.
            rf"\bexplain\s+(?:to\s+me\s+)?(?:what|how|why|{_DET})",
            r"^\s*explain\b",
            r"\bwhat\s+(?:does|do|is|are)\b",
            r"\bhow\s+(?:does|do|is|are)\b",
            r"\bwhy\s+(?:does|do|is|are)\b",
            r"\bwalk\s+me\s+through\b",
            r"\bmeaning\s+of\b",
        ),
    ),
)

_GENERATION = _phrases(
    r"^\s*(?:please\s+)?(?:write|create|implement|generate|build|make|code)\b",
    r"\b(?:write|create|implement|generate|build)\s+(?:me\s+)?(?:a|an|the|some)\b",
    r"\b(?:function|class|method|script|program|module|snippet|regex)\s+(?:that|which|to)\b",
)

_FENCED_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")

_CODE_START = re.compile(
    r"^\s*(?:def|class|import|from\s+\S+\s+import|return|async\s+def|await|if|elif|else|for|"
    r"while|try|except|finally|with|raise|yield|lambda|function|const|let|var|export|"
    r"public|private|protected|static|fn|func|package|#include|#define|using|namespace|"
    r"struct|enum|interface|type|impl|pub|SELECT|INSERT|UPDATE|DELETE|CREATE)\b"
)
# A trailing ":" only counts after a keyword ("def f():"), never on its own ("Here it is:").
_CODE_END = re.compile(r"[;{}()\[\],]\s*$|^\s*[}\])]")
# A name starts only where a word starts (`(?<!\w)`), and a call's parentheses hold no
# others: each pattern then tries each character a bounded number of times (a 200 kB
# word once took a quadratic scan per starting letter).
_CODE_SYMBOLS = re.compile(
    r"(?:==|!=|=>|->|::|\+=|-=|&&|\|\||(?<!\w)\w+\([^()\n]*\)|(?<!\w)\w+[ \t]*=[ \t]*\S)"
)
#: Task detection reads this much of a prompt: the request's words come first, and a
#: pasted megabyte must not cost more than its first page.
MAX_SCANNED_CHARS = 16_384
#: The code-shape rule looks at this many lines, each cut to this many characters.
MAX_SCANNED_LINES = 200
MAX_SCANNED_LINE_CHARS = 400


def strip_code(prompt: str) -> str:
    """The prose of `prompt`: fenced blocks and inline code removed."""
    return _INLINE_CODE.sub(" ", _FENCED_BLOCK.sub(" ", prompt))


def looks_like_code(text: str) -> bool:
    """True when most non-blank lines of `text` look like source code.

    A line counts as code when it starts with a keyword of a common language, ends like
    a statement (`;`, `{`, `:`, `)`...) or reads as an assignment or call; a line that ends
    with `?` or has the rhythm of a sentence (several words, no symbols) counts as prose.
    """
    lines = [line[:MAX_SCANNED_LINE_CHARS] for line in text.splitlines() if line.strip()]
    lines = lines[:MAX_SCANNED_LINES]
    if not lines:
        return False
    code = sum(1 for line in lines if _is_code_line(line))
    return code / len(lines) >= 0.6


def _is_code_line(line: str) -> bool:
    stripped = line.strip()
    if stripped.endswith("?"):
        return False
    if stripped.startswith(("#", "//", "/*", "*", "--", '"""', "'''", "@")):
        return True  # comments, docstrings, decorators
    if _CODE_START.match(line) and not _is_sentence(stripped):
        return True
    return bool(_CODE_END.search(stripped) or _CODE_SYMBOLS.search(stripped)) and not (
        _is_sentence(stripped)
    )


def _is_sentence(text: str) -> bool:
    # "Import the data and plot it." reads as prose: many plain words, a full stop.
    words = text.split()
    plain = sum(1 for word in words if word.isalpha())
    return len(words) >= 5 and plain / len(words) >= 0.8 and not text.endswith((":", "{", ";"))


def detect_task(prompt: str, *, has_code: bool = False) -> TaskDetection:
    """Detect the task `prompt` asks for. `has_code`: code is attached (e.g. `--file`).

    Reads at most `MAX_SCANNED_CHARS` of the prompt, so its cost is bounded whatever the
    prompt's size.
    """
    prompt = prompt[:MAX_SCANNED_CHARS]
    prose = strip_code(prompt)
    specific = _first_specific(prose)
    if specific is not None:
        return specific
    generation = _GENERATION.search(prose)
    if generation is not None:
        return TaskDetection(TaskType.CODE_GENERATION, _keyword(generation))
    if looks_like_code(prompt):
        return TaskDetection(TaskType.CODE_COMPLETION, "code shape: the prompt is source code")
    is_question = prose.rstrip().endswith("?")
    if is_question and (has_code or _FENCED_BLOCK.search(prompt)):
        return TaskDetection(TaskType.EXPLANATION, "a question about code")
    return TaskDetection(TaskType.GENERAL, "no task keywords")


def _first_specific(prose: str) -> TaskDetection | None:
    best: tuple[int, int, TaskType, re.Match[str]] | None = None
    for rank, (task, pattern) in enumerate(_SPECIFIC):
        match = pattern.search(prose)
        if match is None:
            continue
        candidate = (match.start(), rank, task, match)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    if best is None:
        return None
    return TaskDetection(best[2], _keyword(best[3]))


def _keyword(match: re.Match[str]) -> str:
    return f'keyword "{" ".join(match.group(0).split()).lower()}"'
