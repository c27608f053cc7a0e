"""What each editor action asks the model, and how the answer becomes a change.

An `ActionPlan` is built before the model call (the target code, the prompt, the context)
and turns the model's answer into a `Replacement` of part of the document, a `NewFileEdit`
(tests) or Markdown. Commands and code-action resolve share these plans.

The builders see only the action, the prompt token budget and the workspace roots (never
the server), so each is a plain function, tested without a running server.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from aurelis.core.secrets import REDACTED
from aurelis.lsp.actions.answer_guard import guarded
from aurelis.lsp.actions.generated_tests import GeneratedTestFile, locate_test_file
from aurelis.lsp.budget import count_tokens, fit_head
from aurelis.lsp.context import ContextSources, action_context, relative_path
from aurelis.lsp.errors import InvalidArguments, RequestFailed
from aurelis.lsp.postprocess import extract_code, reindent, restore_secrets, strip_comment_markers
from aurelis.lsp.symbols import (
    Definition,
    comment_prefix,
    comment_text,
    enclosing_definition,
    indentation,
    language_family,
)
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots
from aurelis.models.types import ModelRequest, TaskType

__all__ = [
    "ACTIONS",
    "READ_ONLY",
    "ActionDraft",
    "ActionPlan",
    "ActionRequest",
    "ActionSpec",
    "Change",
    "Replacement",
    "NewFileEdit",
    "Markdown",
    "plan_action",
]

#: Largest share of the prompt budget the target code itself may take.
_TARGET_SHARE = 0.5
_MAX_INSTRUCTION = 4000
#: Code rarely averages more than this many characters per token.
_MAX_CHARS_PER_TOKEN = 16


@dataclass(frozen=True)
class ActionRequest:
    """An editor action on a document, as the client asked for it."""

    name: str  # "refactor", "explain", ...
    document: DocumentSnapshot
    selection: tuple[int, int] | None  # offsets; None when nothing is selected
    cursor: int | None
    instruction: str | None
    diagnostics: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replacement:
    """Replace `document.text[start:end]` with `text` (sent as minimal edits)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class NewFileEdit:
    """Append `text` to the test file (created when it does not exist)."""

    target: GeneratedTestFile
    text: str


@dataclass(frozen=True)
class Markdown:
    text: str


Change = Replacement | NewFileEdit | Markdown


@dataclass(frozen=True)
class ActionPlan:
    """What to ask the model for an action, and how its answer becomes a change."""

    request: ModelRequest
    finish: Callable[[str], Change]
    title: str


@dataclass(frozen=True)
class ActionDraft:
    """A plan before context is attached: the prompt, the target range and the finisher."""

    prompt: str
    target: tuple[int, int]
    finish: Callable[[str], Change]


#: Builds an action's draft from the action, the prompt token budget and the workspace roots.
Builder = Callable[[ActionRequest, int, WorkspaceRoots], ActionDraft]


@dataclass(frozen=True)
class ActionSpec:
    task: TaskType
    title: str
    build: Builder
    #: Answers in Markdown instead of editing: the document's version does not matter.
    read_only: bool = False


async def plan_action(
    action: ActionRequest,
    *,
    budget: int,
    sources: ContextSources,
    workspace: WorkspaceRoots | None = None,
) -> ActionPlan:
    """Build the plan for `action` within `budget` prompt tokens, with context from `sources`.

    `workspace`: every folder of the editor (where files may be written, and what the
    refusals name), when `sources` reads fewer (the document's own folder).
    InvalidArguments when the action cannot apply here.
    """
    spec = ACTIONS[action.name]
    draft = spec.build(action, budget, workspace or sources.roots)
    prompt_tokens = count_tokens(draft.prompt)
    left = budget - prompt_tokens - 64
    if left < 0:
        raise InvalidArguments(
            f"the code for {spec.title.lower()} is too large for one request "
            f"({prompt_tokens} tokens; the limit is {budget}): select less"
        )
    context = await action_context(action.document, draft.target, sources, left, action.diagnostics)
    request = ModelRequest(
        prompt=draft.prompt,
        task_type=spec.task,
        context=context or None,
        metadata={"source": "lsp", "feature": action.name},
    )
    finish = guarded(action.name, draft.finish, action.document.text)  # echoes, sizes
    return ActionPlan(request=request, finish=finish, title=spec.title)


# --- targets ------------------------------------------------------------------------------


def _definition_or_selection(
    action: ActionRequest, what: str
) -> tuple[int, int, Definition | None]:
    document = action.document
    if action.selection is not None and action.selection[0] != action.selection[1]:
        start, end = _full_lines(document.text, *action.selection)
        inner = enclosing_definition(document.text, start, document.language_id)
        if inner is not None and inner.start >= start and inner.end <= end + 1:
            return start, end, inner
        return start, end, None
    anchor = action.cursor if action.cursor is not None else 0
    found = enclosing_definition(document.text, anchor, document.language_id)
    if found is None:
        raise InvalidArguments(
            f"select the code to {what}, or put the cursor inside a function or class"
        )
    return found.start, found.end, found


def _full_lines(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a selection to whole lines when only whitespace lies outside it."""
    line_start = text.rfind("\n", 0, start) + 1
    if not text[line_start:start].strip():
        start = line_start
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    if not text[end:line_end].strip():
        end = line_end
    return start, end


def _fence(language: str, code: str) -> str:
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}{language}\n{code}\n{fence}"


def _check_size(code: str, budget: int, what: str) -> None:
    limit = int(budget * _TARGET_SHARE)
    # Far beyond the limit, say so without tokenizing megabytes on the event loop.
    if len(code) > limit * _MAX_CHARS_PER_TOKEN:
        size = f"about {len(code) // 4} tokens"
    elif (tokens := count_tokens(code)) > limit:
        size = f"{tokens} tokens"
    else:
        return
    raise InvalidArguments(
        f"the code to {what} is {size}; Aurelis sends at most {limit} at once: select less"
    )


def _instruction(action: ActionRequest) -> str:
    text = (action.instruction or "").strip()
    return text[:_MAX_INSTRUCTION]


# --- rewrite actions: refactor, optimize, add error handling ------------------------------

_REWRITE_ASKS = {
    "refactor": "Refactor this {lang} code to improve its structure and readability while keeping "
    "its behaviour identical.",
    "optimize": "Make this {lang} code faster or leaner without changing its behaviour.",
    "addErrorHandling": "Add error handling to this {lang} code: validate inputs, catch the "
    "specific errors it can raise and report them clearly; keep its behaviour otherwise "
    "identical.",
}


def _rewrite(name: str) -> Builder:
    def build(action: ActionRequest, budget: int, roots: WorkspaceRoots) -> ActionDraft:
        document = action.document
        start, end, _ = _definition_or_selection(action, "rewrite")
        original = document.text[start:end]
        _check_size(original, budget, "rewrite")
        line_start = document.text.rfind("\n", 0, start) + 1
        base = indentation(original) if line_start == start else ""
        extra = _instruction(action)
        ask = _REWRITE_ASKS[name].format(lang=document.language_id)
        prompt = (
            f"{ask}{' Instruction: ' + extra if extra else ''}\nAnswer with the complete "
            f"replacement for the code below in one fenced block, and nothing else.\n\n"
            f"{_fence(document.language_id, _dedent(original))}"
        )

        def finish(answer: str) -> Change:
            code = _restored(extract_code(answer), document.text)
            text = reindent(code, base) if line_start == start else code.strip()
            return Replacement(start, end, _keep_newline(original, text))

        return ActionDraft(prompt, (start, end), finish)

    return build


def _dedent(code: str) -> str:
    return textwrap.dedent(code)


def _keep_newline(original: str, text: str) -> str:
    if original.endswith("\n") and not text.endswith("\n"):
        return text + "\n"
    return text


def _restored(code: str, original: str) -> str:
    restored = restore_secrets(code, original)
    if restored is None:
        raise RequestFailed(
            "Aurelis: the model changed a line that holds a secret (hidden from it as "
            f"{REDACTED}); the result was not applied"
        )
    if not restored.strip():
        raise RequestFailed("Aurelis: the model answered without any code")
    return restored


# --- generate -----------------------------------------------------------------------------


def _generate(action: ActionRequest, budget: int, roots: WorkspaceRoots) -> ActionDraft:
    document = action.document
    if action.cursor is None:
        raise InvalidArguments("aurelis.generate needs a `position` (the cursor)")
    text = document.text
    line_start = text.rfind("\n", 0, action.cursor) + 1
    line_end = text.find("\n", line_start)
    line_end = len(text) if line_end == -1 else line_end
    line = text[line_start:line_end]
    instruction = _instruction(action) or _comment_instruction(text, line_start, line, document)
    if not instruction:
        raise InvalidArguments(
            "aurelis.generate needs an instruction: pass `instruction`, or put a comment "
            "describing the code at the cursor"
        )
    if line.strip():
        at = end = min(line_end + 1, len(text))
        indent = indentation(line) + ("    " if line.rstrip().endswith((":", "{")) else "")
        leading = "\n" if line_end == len(text) else ""
    else:
        at, end, indent, leading = line_start, line_end, indentation(line), ""
    prompt = (
        f"{instruction}\n\nWrite the {document.language_id} code for this, to be inserted at the "
        f"marked position in `{relative_path(document, roots)}`. Answer with the code "
        "only, in one fenced block."
    )

    def finish(answer: str) -> Change:
        code = _restored(extract_code(answer), document.text)
        body = reindent(code, indent).rstrip("\n")
        trailing = "" if end == line_end and not line.strip() else "\n"
        return Replacement(at, end, f"{leading}{body}{trailing}")

    return ActionDraft(prompt, (at, at), finish)


def _comment_instruction(text: str, line_start: int, line: str, document: DocumentSnapshot) -> str:
    found = comment_text(line, document.language_id)
    if found or line.strip() or line_start == 0:
        return found or ""
    above_start = text.rfind("\n", 0, line_start - 1) + 1
    return comment_text(text[above_start : line_start - 1], document.language_id) or ""


# --- document -----------------------------------------------------------------------------


def _document(action: ActionRequest, budget: int, roots: WorkspaceRoots) -> ActionDraft:
    document = action.document
    start, end, definition = _definition_or_selection(action, "document")
    code = document.text[start:end]
    _check_size(code, budget, "document")
    python = language_family(document.language_id) == "python"
    what = f"{definition.kind} `{definition.name}`" if definition else "code"
    form = "docstring" if python and definition else "comment"
    prompt = (
        f"Write a concise documentation {form} for the {document.language_id} {what} below. "
        "Answer with the documentation text only: no code, no quotes, no comment markers.\n\n"
        f"{_fence(document.language_id, _dedent(code))}"
    )

    def finish(answer: str) -> Change:
        doc = _doc_text(answer, definition.name if definition else None)
        if not doc:
            raise RequestFailed("Aurelis: the model answered without documentation")
        if python and definition is not None:
            return _docstring(document, definition, doc)
        return _comment_block(document, definition.start if definition else start, doc)

    return ActionDraft(prompt, (start, end), finish)


def _doc_text(answer: str, name: str | None) -> str:
    code = extract_code(answer) if "```" in answer else answer
    if name is not None:
        try:
            for node in ast.walk(ast.parse(code)):
                if getattr(node, "name", None) == name:
                    found = ast.get_docstring(node)  # type: ignore[arg-type]
                    if found:
                        return found
        except (SyntaxError, ValueError):
            pass
    return strip_comment_markers(code)


def _docstring(document: DocumentSnapshot, definition: Definition, doc: str) -> Replacement:
    text = document.text
    header_line = text[definition.start : definition.header_end]
    body = text[definition.header_end : definition.end]
    first_body = next((line for line in body.splitlines() if line.strip()), "")
    indent = indentation(first_body) or _last_line_indent(header_line) + "    "
    lines = doc.replace('"""', r"\"\"\"").splitlines()
    if len(lines) == 1:
        rendered = f'{indent}"""{lines[0]}"""\n'
    else:
        inner = "\n".join(f"{indent}{line}" if line.strip() else "" for line in lines[1:])
        rendered = f'{indent}"""{lines[0]}\n{inner}\n{indent}"""\n'
    if definition.docstring is not None:
        return Replacement(*definition.docstring, rendered)
    return Replacement(definition.header_end, definition.header_end, rendered)


def _last_line_indent(header: str) -> str:
    lines = [line for line in header.splitlines() if line.strip()]
    signature = next((line for line in lines if not line.lstrip().startswith("@")), lines[0])
    return indentation(signature)


def _comment_block(document: DocumentSnapshot, at: int, doc: str) -> Replacement:
    text = document.text
    line_start = text.rfind("\n", 0, at) + 1
    line_end = text.find("\n", line_start)
    indent = indentation(text[line_start : len(text) if line_end == -1 else line_end])
    lines = doc.splitlines()
    family = language_family(document.language_id)
    if family in ("js", "c") and document.language_id not in ("go",):
        body = "\n".join(f"{indent} * {line}".rstrip() for line in lines)
        rendered = f"{indent}/**\n{body}\n{indent} */\n"
    else:
        marker = "///" if family == "rust" else comment_prefix(document.language_id)
        rendered = "".join(f"{indent}{marker} {line}".rstrip() + "\n" for line in lines)
    return Replacement(line_start, line_start, rendered)


# --- tests --------------------------------------------------------------------------------


def _tests(action: ActionRequest, budget: int, roots: WorkspaceRoots) -> ActionDraft:
    document = action.document
    start, end, definition = _definition_or_selection(action, "test")
    code = document.text[start:end]
    _check_size(code, budget, "test")
    target = locate_test_file(document, roots)
    framework = " with pytest" if language_family(document.language_id) == "python" else ""
    what = f"the {definition.kind} `{definition.name}`" if definition else "the code"
    prompt = (
        f"Write unit tests{framework} for {what} below, from "
        f"`{relative_path(document, roots)}` (import it as {target.import_hint}). "
        "Cover normal cases, edge cases and errors. Answer with the test code only, "
        "in one fenced block.\n\n"
        f"{_fence(document.language_id, _dedent(code))}"
    )

    def finish(answer: str) -> Change:
        return NewFileEdit(
            target, _restored(extract_code(answer), document.text).strip("\n") + "\n"
        )

    return ActionDraft(prompt, (start, end), finish)


# --- read-only actions --------------------------------------------------------------------


def _explain(action: ActionRequest, budget: int, roots: WorkspaceRoots) -> ActionDraft:
    document = action.document
    if action.selection is not None and action.selection[0] != action.selection[1]:
        start, end = action.selection
    else:
        anchor = action.cursor if action.cursor is not None else 0
        found = enclosing_definition(document.text, anchor, document.language_id)
        if found is not None:
            start, end = found.start, found.end
        else:
            start, end = _line_of(document.text, anchor)
    code = document.text[start:end]
    if not code.strip():
        raise InvalidArguments("select the code to explain")
    _check_size(code, budget, "explain")
    prompt = (
        f"Explain this {document.language_id} code from "
        f"`{relative_path(document, roots)}`: what it does, how, and why.\n\n"
        f"{_fence(document.language_id, _dedent(code))}"
    )
    return ActionDraft(prompt, (start, end), lambda answer: Markdown(answer.strip()))


def _line_of(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return start, len(text) if end == -1 else end


def _analyze(action: ActionRequest, budget: int, roots: WorkspaceRoots) -> ActionDraft:
    document = action.document
    if not document.text.strip():
        raise InvalidArguments("the file is empty: there is nothing to analyze")
    limit = int(budget * _TARGET_SHARE)
    code = fit_head(document.text, limit)
    note = ""
    if len(code) < len(document.text):
        shown, total = code.count("\n"), document.text.count("\n") + 1
        note = f" The file is long: only its first {shown} of {total} lines are shown."
    prompt = (
        f"Analyse `{relative_path(document, roots)}` ({document.language_id}) for bugs, "
        "security issues, performance and maintainability. Answer in Markdown with concrete "
        f"findings, each naming the code it concerns.{note}\n\n"
        f"{_fence(document.language_id, code)}"
    )
    return ActionDraft(prompt, (0, len(code)), lambda answer: Markdown(answer.strip()))


ACTIONS: dict[str, ActionSpec] = {
    "generate": ActionSpec(TaskType.CODE_GENERATION, "Generate code", _generate),
    "document": ActionSpec(TaskType.DOCUMENTATION, "Add documentation", _document),
    "refactor": ActionSpec(TaskType.REFACTORING, "Refactor", _rewrite("refactor")),
    "optimize": ActionSpec(TaskType.CODE_OPTIMIZATION, "Optimize", _rewrite("optimize")),
    "addErrorHandling": ActionSpec(
        TaskType.REFACTORING, "Add error handling", _rewrite("addErrorHandling")
    ),
    "generateTests": ActionSpec(TaskType.TESTING, "Generate tests", _tests),
    "explain": ActionSpec(TaskType.EXPLANATION, "Explain", _explain, read_only=True),
    "analyze": ActionSpec(TaskType.ANALYSIS, "Analyze", _analyze, read_only=True),
}
#: The actions that answer in Markdown instead of editing.
READ_ONLY = frozenset(name for name, spec in ACTIONS.items() if spec.read_only)
