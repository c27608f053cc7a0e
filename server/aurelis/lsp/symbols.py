"""Cheap, language-aware reading of source text: enclosing definitions, imports, comments
and the modules a file imports.

Python is parsed with `ast` when it parses; every other language (and Python that does not
parse mid-edit) falls back to line patterns, indentation and brace matching. Good enough
to pick the code an action is about; never worth a crash.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from aurelis.lsp.workspace.positions import split_lines

__all__ = [
    "Definition",
    "comment_prefix",
    "comment_text",
    "enclosing_definition",
    "enclosing_header",
    "import_lines",
    "imported_paths",
    "indentation",
    "language_family",
]

_FAMILIES = {
    "python": "python",
    "javascript": "js",
    "javascriptreact": "js",
    "typescript": "js",
    "typescriptreact": "js",
    "go": "go",
    "rust": "rust",
    "java": "c",
    "kotlin": "c",
    "scala": "c",
    "c": "c",
    "cpp": "c",
    "csharp": "c",
    "swift": "c",
    "php": "c",
    "dart": "c",
}
_HASH_COMMENT = {
    "python",
    "shellscript",
    "ruby",
    "yaml",
    "toml",
    "perl",
    "r",
    "makefile",
    "dockerfile",
    "powershell",
    "elixir",
    "julia",
    "coffeescript",
}
_DASH_COMMENT = {"sql", "lua", "haskell", "elm"}

_DEFINITIONS = {
    "python": re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+def|def|class)[ \t]+(?P<name>\w+)"),
    "js": re.compile(
        r"^(?P<indent>[ \t]*)(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?"
        r"(?:(?:function\*?|class|interface)[ \t]+(?P<name>[\w$]+)"
        r"|(?:const|let|var)[ \t]+(?P<var>[\w$]+)[ \t]*=[ \t]*(?:async[ \t]*)?(?:\(|function))"
    ),
    "go": re.compile(r"^(?P<indent>)func[ \t]+(?:\([^)]*\)[ \t]*)?(?P<name>\w+)"),
    "rust": re.compile(
        r"^(?P<indent>[ \t]*)(?:pub(?:\([\w:]+\))?[ \t]+)?(?:async[ \t]+)?(?:unsafe[ \t]+)?"
        r"(?:fn|struct|enum|trait|impl|mod)[ \t]+(?P<name>\w+)"
    ),
    "c": re.compile(
        r"^(?P<indent>[ \t]*)(?:(?:public|private|protected|static|final|virtual|override|"
        r"async|inline|const|unsafe|internal|abstract|fun|func|def)[ \t]+)*"
        r"(?:class[ \t]+(?P<cls>\w+)|(?:[\w<>\[\],.*&:]+[ \t]+)+(?P<name>\w+)[ \t]*\([^;]*$)"
    ),
}
_NOT_NAMES = {"if", "for", "while", "switch", "return", "catch", "else", "new", "sizeof"}
_IMPORTS = {
    "python": re.compile(r"^(?:from[ \t]+[\w.]+[ \t]+import[ \t].+|import[ \t].+)$"),
    "js": re.compile(r"^[ \t]*(?:import[ \t].+|(?:const|let|var)[ \t].+require\(.+\).*)$"),
    "go": re.compile(r'^(?:import[ \t].+|[ \t]+(?:\w+[ \t]+)?"[^"]+")$'),
    "rust": re.compile(r"^[ \t]*(?:pub[ \t]+)?use[ \t].+$"),
    "c": re.compile(r"^(?:import[ \t].+|#include[ \t].+|using[ \t][\w.]+;)$"),
}
#: Imports sit at the top of a file; looking further costs time and finds nothing.
_IMPORT_SCAN_LINES = 300
_HEADER_SCAN_LINES = 400
_MAX_PARSE_CHARS = 1_000_000


@dataclass(frozen=True)
class Definition:
    """A function, method or class: its name and where its parts are in the text.

    All offsets are line starts: `start` is the first line (decorators included),
    `header_end` the line after the signature, `end` the line after the body.
    """

    kind: str
    name: str
    start: int
    header_end: int
    end: int
    #: (start, end) line offsets of an existing docstring, Python only.
    docstring: tuple[int, int] | None = None

    def text(self, source: str) -> str:
        return source[self.start : self.end]


def language_family(language_id: str) -> str:
    return _FAMILIES.get(language_id, "other")


def indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def comment_prefix(language_id: str) -> str:
    """The line-comment marker of the language (`#`, `//` or `--`)."""
    if language_id in _HASH_COMMENT:
        return "#"
    if language_id in _DASH_COMMENT:
        return "--"
    return "//"


def comment_text(line: str, language_id: str) -> str | None:
    """The text of a comment line (`# make it fast` → "make it fast"), or None."""
    stripped = line.strip()
    for marker in (comment_prefix(language_id), "//", "#"):
        if stripped.startswith(marker) and not stripped.startswith("#!"):
            return stripped[len(marker) :].strip(" /#-*") or None
    if stripped.startswith("/*"):
        return stripped.strip("/* ").strip() or None
    return None


def import_lines(text: str, language_id: str) -> list[str]:
    """Import statements from the top of the file, in order."""
    pattern = _IMPORTS.get(language_family(language_id))
    if pattern is None:
        return []
    found = []
    for number, line in enumerate(text.splitlines()):
        if number >= _IMPORT_SCAN_LINES:
            break
        if pattern.match(line):
            found.append(line.rstrip())
    return found


def enclosing_header(text: str, offset: int, language_id: str) -> str | None:
    """The header line of the definition around `offset`, found by a bounded backward scan.

    Used on every inline completion, so it never parses the file.
    """
    pattern = _DEFINITIONS.get(language_family(language_id))
    if pattern is None:
        return None
    line_start = text.rfind("\n", 0, offset) + 1
    current = text[line_start : text.find("\n", line_start) if "\n" in text[line_start:] else None]
    limit = len(indentation(current)) if current.strip() else None
    position = line_start
    for _ in range(_HEADER_SCAN_LINES):
        if position <= 0:
            break
        previous = text.rfind("\n", 0, position - 1) + 1
        line = text[previous : position - 1]
        position = previous
        match = pattern.match(line)
        if match and _is_name(match) and (limit is None or len(match.group("indent")) < limit):
            return line.strip()
        # A shallower statement means the cursor is in its block; a closing bracket is
        # only the end of a multi-line signature or call.
        stripped = line.strip()
        if stripped and limit is not None and language_family(language_id) == "python":
            if not stripped.startswith((")", "]", "}")):
                limit = min(limit, len(indentation(line)))
    return None


def _is_name(match: re.Match[str]) -> bool:
    name = _match_name(match)
    return bool(name) and name not in _NOT_NAMES


def _match_name(match: re.Match[str]) -> str:
    groups = match.groupdict()
    return groups.get("name") or groups.get("var") or groups.get("cls") or ""


def enclosing_definition(text: str, offset: int, language_id: str) -> Definition | None:
    """The innermost function or class around `offset` (functions win over classes)."""
    if language_family(language_id) == "python":
        found = _python_definition(text, offset)
        if found is not None:
            return found
        return _indented_definition(text, offset, language_id)
    return _braced_definition(text, offset, language_id)


def _python_definition(text: str, offset: int) -> Definition | None:
    if len(text) > _MAX_PARSE_CHARS:
        return None  # parsing megabytes would stall the server; the heuristic will do
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    starts = _line_starts(text)
    line = bisect_right(starts, offset)  # 1-based, as ast counts
    best: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None = None
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        if first <= line <= (node.end_lineno or node.lineno) and _better(node, best):
            best = node
    if best is None:
        return None
    first = min([best.lineno, *(d.lineno for d in best.decorator_list)])
    header_last = _signature_end_line(text, starts, best)
    end = _line_end_offset(text, starts, (best.end_lineno or best.lineno) - 1)
    return Definition(
        kind="class" if isinstance(best, ast.ClassDef) else "function",
        name=best.name,
        start=starts[first - 1],
        header_end=_line_end_offset(text, starts, header_last - 1),
        end=end,
        docstring=_docstring_lines(text, starts, best),
    )


def _signature_end_line(
    text: str, starts: list[int], node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
) -> int:
    """1-based line holding the colon that ends the signature (it may span lines)."""
    last = node.body[0].lineno if node.body else node.lineno
    depth = 0
    for number in range(node.lineno, last + 1):
        line = text[starts[number - 1] : _line_end_offset(text, starts, number - 1)]
        code = line.split("#", 1)[0].rstrip()
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0 and (code.endswith(":") or number == last):
            return number
    return node.lineno


def _docstring_lines(
    text: str, starts: list[int], node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
) -> tuple[int, int] | None:
    if not node.body or ast.get_docstring(node, clean=False) is None:
        return None
    first = node.body[0]
    if first.lineno == node.lineno:
        return None  # `def f(): "doc"` — one line, leave it alone
    return starts[first.lineno - 1], _line_end_offset(text, starts, (first.end_lineno or 1) - 1)


def _better(node: ast.AST, best: ast.AST | None) -> bool:
    if best is None:
        return True
    # Innermost wins, but a function beats the class around it.
    node_function = not isinstance(node, ast.ClassDef)
    best_function = not isinstance(best, ast.ClassDef)
    if node_function != best_function:
        return node_function
    return getattr(node, "lineno", 0) >= getattr(best, "lineno", 0)


def _line_starts(text: str) -> list[int]:
    # ast ends lines at "\r\n", "\r" and "\n", as the LSP does: count them the same way.
    starts = [0]
    for line in split_lines(text)[:-1]:
        starts.append(starts[-1] + len(line))
    return starts


def _line_end_offset(text: str, starts: list[int], line_index: int) -> int:
    """Offset after the newline of line `line_index` (0-based), or the end of text."""
    if line_index + 1 < len(starts):
        return starts[line_index + 1]
    return len(text)


def _header_match(text: str, offset: int, language_id: str) -> tuple[int, re.Match[str]] | None:
    pattern = _DEFINITIONS.get(language_family(language_id))
    if pattern is None:
        return None
    position = text.find("\n", offset)
    position = len(text) if position == -1 else position
    for _ in range(_HEADER_SCAN_LINES):
        start = text.rfind("\n", 0, position) + 1
        match = pattern.match(text[start:position])
        if match and _is_name(match):
            return start, match
        if start == 0:
            return None
        position = start - 1
    return None


def _indented_definition(text: str, offset: int, language_id: str) -> Definition | None:
    found = _header_match(text, offset, language_id)
    if found is None:
        return None
    start, match = found
    header_end = _next_line(text, start)
    base = len(match.group("indent"))
    end = header_end
    position = header_end
    while position < len(text):
        following = _next_line(text, position)
        line = text[position:following]
        if line.strip() and len(indentation(line)) <= base:
            break
        if line.strip():
            end = following
        position = following
    if end < offset:
        return None
    return Definition(_kind(match), _match_name(match), start, header_end, end)


def _braced_definition(text: str, offset: int, language_id: str) -> Definition | None:
    found = _header_match(text, offset, language_id)
    if found is None:
        return None
    start, match = found
    brace = text.find("{", start)
    if brace == -1:
        return None
    close = _matching_brace(text, brace)
    end = _next_line(text, close) if close is not None else len(text)
    if end < offset:
        return None
    header_end = _next_line(text, brace)
    return Definition(_kind(match), _match_name(match), start, header_end, end)


def _matching_brace(text: str, open_index: int) -> int | None:
    depth = 0
    for index in range(open_index, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _next_line(text: str, offset: int) -> int:
    newline = text.find("\n", offset)
    return len(text) if newline == -1 else newline + 1


def _kind(match: re.Match[str]) -> str:
    return (
        "class"
        if re.search(r"\b(class|struct|interface|trait|enum)\b", match.group(0))
        else "function"
    )


def imported_paths(text: str, language_id: str, file_path: Path, roots: list[Path]) -> list[Path]:
    """Candidate files for the modules `text` imports (not checked for existence or safety)."""
    family = language_family(language_id)
    if family == "python":
        return _python_candidates(text, file_path, roots)
    if family == "js":
        return _js_candidates(text, file_path)
    return []


_PY_FROM = re.compile(r"^from[ \t]+(?P<dots>\.*)(?P<module>[\w.]*)[ \t]+import[ \t]+(?P<names>.+)$")
_PY_IMPORT = re.compile(r"^import[ \t]+(?P<modules>.+)$")
_JS_SOURCE = re.compile(
    r"""(?:from[ \t]+|require\([ \t]*|import[ \t]+)["'](?P<spec>\.{1,2}/[^"']+)["']"""
)


def _python_candidates(text: str, file_path: Path, roots: list[Path]) -> list[Path]:
    candidates: list[Path] = []
    for line in import_lines(text, "python"):
        if match := _PY_FROM.match(line):
            dots, module = match.group("dots"), match.group("module")
            names = [n.split(" as ")[0].strip(" ()") for n in match.group("names").split(",")]
            bases = _relative_bases(file_path, len(dots)) if dots else _absolute_bases(roots)
            parts = [p for p in module.split(".") if p]
            for base in bases:
                candidates.extend(_module_files(base, parts))
                candidates.extend(f for name in names for f in _module_files(base, [*parts, name]))
        elif match := _PY_IMPORT.match(line):
            for module in match.group("modules").split(","):
                parts = module.split(" as ")[0].strip().split(".")
                for base in _absolute_bases(roots):
                    candidates.extend(_module_files(base, parts))
    return _unique(candidates)


def _relative_bases(file_path: Path, dots: int) -> list[Path]:
    base = file_path.parent
    for _ in range(dots - 1):
        base = base.parent
    return [base]


def _absolute_bases(roots: list[Path]) -> list[Path]:
    return [base for root in roots for base in (root, root / "src")]


def _module_files(base: Path, parts: list[str]) -> list[Path]:
    if not parts or not all(part.isidentifier() for part in parts):
        return []
    target = base.joinpath(*parts)
    return [target.with_suffix(".py"), target / "__init__.py"]


def _js_candidates(text: str, file_path: Path) -> list[Path]:
    candidates: list[Path] = []
    for line in import_lines(text, "javascript"):
        for match in _JS_SOURCE.finditer(line):
            target = file_path.parent / match.group("spec")
            candidates.append(target)
            for suffix in (".ts", ".tsx", ".js", ".jsx", ".mjs"):
                candidates.append(target.with_name(target.name + suffix))
                candidates.append(target / f"index{suffix}")
    return _unique(candidates)


def _unique(paths: list[Path]) -> list[Path]:
    seen: set[Path] = set()
    result = []
    for path in paths:
        if path not in seen:
            seen.add(path)
            result.append(path)
    return result
