"""Prompt assembly: system prompt per task, context sections, and fitting to a token budget.

Context is trimmed before anything else; the user's prompt is never cut silently (the
request fails with PromptTooLongError instead). What was cut is reported so callers can
put it in `metadata["context_truncated"]`.

Sizes are checked by characters before anything is redacted or tokenized: a prompt with
more than MAX_CHARS_PER_TOKEN characters per token of budget is refused at once, and a
context section longer than that is cut to it first (it is cut to the budget anyway; its
reported `original_tokens` then counts the part kept for counting), so a 20 MB input
costs microseconds, not a minute of tokenizing.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from aurelis.core.exceptions import PromptTooLongError
from aurelis.core.secrets import redact
from aurelis.models.tokens import (
    MAX_CHARS_PER_TOKEN,
    count_tokens,
    fits,
    tokenizer_in_force,
    truncate_head,
)
from aurelis.models.types import ModelRequest, TaskType

__all__ = [
    "TEMPLATE_VERSION",
    "SYSTEM_PROMPTS",
    "BuiltPrompt",
    "build_messages",
    "build_completion_prompt",
    "CompletionPrompt",
    "context_sections",
    "refuse_oversized",
]

#: Bump when prompt wording changes: it is part of every cache key.
TEMPLATE_VERSION = "2"

SYSTEM_PROMPTS = MappingProxyType(
    {
        TaskType.CODE_GENERATION: (
            "You are an expert software engineer. Write correct, idiomatic, production-quality "
            "code for the request. Answer with the code in one fenced block and at most a "
            "short note."
        ),
        TaskType.CODE_COMPLETION: (
            "You are a code completion engine. Output only the code to insert at the cursor, "
            "with no explanation and no code fences."
        ),
        TaskType.CODE_OPTIMIZATION: (
            "You are a performance engineer. Rewrite the code to be faster or leaner without "
            "changing its behaviour. Answer with the rewritten code in one fenced block."
        ),
        TaskType.DOCUMENTATION: (
            "You are a technical writer for developers. Write clear, accurate documentation "
            "(docstrings or comments in the code's language conventions)."
        ),
        TaskType.EXPLANATION: (
            "You are a patient senior engineer. Explain what the code does, how, and why, "
            "in concise Markdown."
        ),
        TaskType.REFACTORING: (
            "You are an expert at refactoring. Improve structure and readability while keeping "
            "behaviour identical. Answer with the refactored code in one fenced block."
        ),
        TaskType.TESTING: (
            "You are a test engineer. Write thorough, runnable unit tests that cover normal "
            "cases, edge cases and errors. Answer with the test code in one fenced block."
        ),
        TaskType.ANALYSIS: (
            "You are a code reviewer. Analyse the code for bugs, security issues, performance "
            "and maintainability. Answer in Markdown with concrete findings."
        ),
        TaskType.GENERAL: "You are Aurelis, a helpful assistant for software developers.",
    }
)

# Per-message framing costs a few tokens in chat formats; 16 covers two messages.
_FRAMING_TOKENS = 16
_REQUEST_HEADING_TOKENS = 12

# Context keys in the order they appear; any other key follows, alphabetically.
_CONTEXT_ORDER = ("existing_code", "project_structure", "error_patterns")


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    body: str


@dataclass
class BuiltPrompt:
    messages: list[dict[str, str]]
    truncated: list[dict[str, Any]] = field(default_factory=list)

    @functools.cached_property
    def prompt_tokens(self) -> int:
        """Token count of the messages; computed only when a server reports no usage."""
        return _estimate(*(message["content"] for message in self.messages)) + _FRAMING_TOKENS


def refuse_oversized(chars: int, budget: int, where: str) -> None:
    """PromptTooLongError when `chars` characters surely exceed `budget` tokens."""
    if chars > budget * MAX_CHARS_PER_TOKEN:
        raise PromptTooLongError(
            f"the prompt has {chars:,} characters, more than {where} can take "
            f"({budget:,} tokens, at most {budget * MAX_CHARS_PER_TOKEN:,} characters)",
            hint="shorten the prompt or send the code as context, which is cut to fit",
        )


def context_sections(context: dict[str, Any] | None, max_chars: int | None = None) -> list[Section]:
    """The request's context as labelled sections, in the stable order, secrets redacted.

    `max_chars` cuts each section (at a line end) before it is redacted: callers pass a
    bound well above what their token budget can keep.
    """
    if not context:
        return []
    known = [key for key in _CONTEXT_ORDER if key in context]
    others = sorted(key for key in context if key not in _CONTEXT_ORDER)
    sections = []
    for key in (*known, *others):
        body = _as_text(context[key])
        if max_chars is not None and len(body) > max_chars:
            body = _cut_at_line(body[:max_chars])
        if body.strip():
            sections.append(Section(key, key.replace("_", " ").capitalize(), redact(body)))
    return sections


def build_messages(request: ModelRequest, budget: int) -> BuiltPrompt:
    """Chat messages for `request`, fitted into `budget` prompt tokens."""
    system = request.system_prompt or SYSTEM_PROMPTS[request.task_type]
    refuse_oversized(len(system) + len(request.prompt), budget, "this model")
    prompt = redact(request.prompt)
    sections = context_sections(request.context, budget * MAX_CHARS_PER_TOKEN)
    if _surely_fits(system, prompt, sections, budget):
        # The common request: a token is at least one byte, so when the bytes fit, the
        # tokens do and nothing is cut; no tokenizer run at all.
        return BuiltPrompt(_chat(system, _user_message(prompt, sections)))
    if not sections and fits(system + prompt, budget - _FRAMING_TOKENS):
        return BuiltPrompt(_chat(system, prompt))
    # System prompts and labels repeat from request to request: their counts are cached,
    # so each request tokenizes its prompt and each context section once.
    fixed_tokens = _count_cached(system) + count_tokens(prompt) + _FRAMING_TOKENS
    if fixed_tokens > budget:
        raise PromptTooLongError(
            f"the prompt needs {fixed_tokens} tokens but the model accepts {budget}",
            hint="shorten the prompt or pick a model with a larger context window",
        )
    # Reserve the "## Request" heading and a margin: tokens merge differently across joins.
    kept, truncated = _fit_sections(sections, budget - fixed_tokens - _REQUEST_HEADING_TOKENS)
    return BuiltPrompt(_chat(system, _user_message(prompt, kept)), truncated)


def _chat(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class CompletionPrompt:
    """A plain-text prompt for a base model.

    `lead` is the start of the answer already written into the prompt (e.g. `def`):
    the provider puts it back in front of what the model generates.
    """

    text: str
    stops: list[str]
    lead: str = ""
    truncated: list[dict[str, Any]] = field(default_factory=list)


def build_completion_prompt(request: ModelRequest, budget: int) -> CompletionPrompt:
    """A plain-text prompt for base models without a chat template.

    Base models continue text rather than follow instructions, so each task is phrased as
    the start of a document whose natural continuation is the answer.
    """
    refuse_oversized(len(request.prompt), budget, "the local model")
    prompt = redact(request.prompt)
    sections, truncated = _fit_sections(
        context_sections(request.context, budget * MAX_CHARS_PER_TOKEN),
        max(budget - count_tokens(prompt) - 160, 0),
    )
    code = "\n\n".join(
        section.body for section in sections if section.key not in _NOT_CODE_FOR_BASE_MODELS
    )
    text, stops, lead = _completion_template(request.task_type, prompt, code, _language(request))
    if not fits(text, budget):
        raise PromptTooLongError(
            f"the prompt needs {count_tokens(text)} tokens but the local model accepts {budget}",
            hint="shorten the prompt or raise local_context_size",
        )
    return CompletionPrompt(text, stops, lead, truncated)


# A base model continues text: a file tree or a language name would be continued as such.
_NOT_CODE_FOR_BASE_MODELS = frozenset({"language", "project_structure"})

# One worked example makes a small base model write a function instead of rambling:
# measured on gemma3 270M, it turns comment loops into plausible `def` blocks. Its body is
# one line on purpose: a longer one was copied into answers (`result = ...` openings).
_PYTHON_EXAMPLE = """# Python 3

# Return the largest element of a list.
def largest(items):
    return max(items)


"""
_CODE_STOPS = ["\n\n\n", "\n#", "\nif __name__", "\nprint("]
#: Where a block that started indented has ended: something at column 0 (HumanEval's and
#: Codex's stops). Only used when the prompt ends inside an indented block.
_BLOCK_END_STOPS = ["\n\n\n", "\ndef ", "\nclass ", "\nif ", "\nprint(", "\n#", "\n@"]
_OPENS_CODE = re.compile(r"^\s*(?:(?:async\s+)?def |class |import |from \S+ import )", re.M)


def _completion_template(
    task: TaskType, prompt: str, code: str, language: str
) -> tuple[str, list[str], str]:
    code_block = f"{code.rstrip()}\n\n\n" if code else ""
    request = _one_line(prompt).rstrip(".")
    if task is TaskType.CODE_COMPLETION:
        return f"{code_block}{prompt}", _continuation_stops(prompt, language), ""
    if task is TaskType.DOCUMENTATION:
        return f'{code_block}# {request}\n"""', ['"""'], ""
    if task is TaskType.TESTING:
        return (
            f"{code_block}# Tests: {request}\nimport pytest\n\n\ndef test_",
            _CODE_STOPS,
            "def test_",
        )
    if task in (TaskType.CODE_GENERATION, TaskType.REFACTORING, TaskType.CODE_OPTIMIZATION):
        if task is TaskType.CODE_GENERATION and _OPENS_CODE.search(prompt):
            # The request is code to carry on (a signature and docstring): continued as it
            # is, not folded into a one-line comment after somebody else's example.
            return f"{code_block}{prompt}", _continuation_stops(prompt, language), ""
        if language == "python":
            return f"{_PYTHON_EXAMPLE}{code_block}# {request}.\ndef", _CODE_STOPS, "def"
        return f"{code_block}// {request}\n", ["\n\n\n"], ""
    return f"{code_block}Question: {request}\nAnswer:", ["\nQuestion:", "\n\n\n"], ""


def _continuation_stops(prompt: str, language: str) -> list[str]:
    """Stops for text that continues `prompt`: the end of its block when it ends inside one."""
    last_line = next((line for line in reversed(prompt.splitlines()) if line.strip()), "")
    if language == "python" and last_line[:1] in (" ", "\t"):
        return list(_BLOCK_END_STOPS)
    return ["\n\n\n"]


def _language(request: ModelRequest) -> str:
    # The editor tells us the language; plain CLI requests are assumed to be Python.
    language = (request.context or {}).get("language", "python")
    return str(language).lower()


def _fit_sections(
    sections: list[Section], budget: int
) -> tuple[list[Section], list[dict[str, Any]]]:
    """Share `budget` among sections: small ones stay whole, large ones are cut.

    Water-filling: visiting sections from smallest to largest, each gets at most an equal
    share of what is left, so one huge file cannot crowd out the error list.
    """
    if not sections:
        return sections, []
    costs = {section.key: count_tokens(section.body) for section in sections}
    overhead = {section.key: _count_cached(section.label) + 8 for section in sections}
    if sum(costs.values()) + sum(overhead.values()) <= budget:
        return sections, []
    allowed: dict[str, int] = {}
    remaining = budget
    by_size = sorted(sections, key=lambda section: costs[section.key])
    for index, section in enumerate(by_size):
        share = remaining // (len(by_size) - index)
        allowed[section.key] = min(costs[section.key], max(share - overhead[section.key], 0))
        remaining -= allowed[section.key] + overhead[section.key]
    return _apply_allowance(sections, costs, allowed)


def _apply_allowance(
    sections: list[Section], costs: dict[str, int], allowed: dict[str, int]
) -> tuple[list[Section], list[dict[str, Any]]]:
    kept: list[Section] = []
    truncated: list[dict[str, Any]] = []
    for section in sections:
        cost, allowance = costs[section.key], allowed[section.key]
        if allowance >= cost:
            kept.append(section)
            continue
        body = _cut_at_line(truncate_head(section.body, allowance)) if allowance >= 16 else ""
        if body:
            kept.append(Section(section.key, section.label, body + "\n… [truncated]"))
        truncated.append(
            {"key": section.key, "original_tokens": cost, "kept_tokens": count_tokens(body)}
        )
    return kept, truncated


def _cut_at_line(text: str) -> str:
    # A half line of code misleads more than a missing one.
    cut = text.rfind("\n")
    return text[:cut] if cut > 0 else text


def _user_message(prompt: str, sections: list[Section]) -> str:
    if not sections:
        return prompt
    parts = [f"## {section.label}\n{_fence(section.body)}" for section in sections]
    return "\n\n".join([*parts, f"## Request\n{prompt}"])


def _fence(body: str) -> str:
    # A fence longer than any backtick run inside, so code with ``` cannot break out.
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{body.rstrip()}\n{fence}"


def _estimate(*texts: str) -> int:
    return sum(count_tokens(text) for text in texts)


def _count_cached(text: str) -> int:
    """Token count of a text that recurs (system prompts, section labels)."""
    # The cache holds cl100k counts; a model's own tokenizer counts these in microseconds.
    return count_tokens(text) if tokenizer_in_force() else _count_cl100k(text)


@functools.lru_cache(maxsize=256)
def _count_cl100k(text: str) -> int:
    return count_tokens(text)


def _surely_fits(system: str, prompt: str, sections: list[Section], budget: int) -> bool:
    """True when the whole prompt fits by its UTF-8 size alone (an upper bound on tokens),
    with the same margins as the counted path: framing, section overhead, the heading."""
    reserve = _FRAMING_TOKENS + (_REQUEST_HEADING_TOKENS + 8 * len(sections) if sections else 0)
    texts = [system, prompt, *(part for s in sections for part in (s.body, s.label))]
    chars = sum(len(text) for text in texts)
    if chars * 4 + reserve <= budget:  # UTF-8 needs at most 4 bytes a character
        return True
    if chars + reserve > budget:  # at least one byte a character: measure it properly
        return False
    return sum(len(text.encode("utf-8")) for text in texts) + reserve <= budget


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return "\n".join(value)
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _one_line(text: str) -> str:
    return " ".join(text.split())
