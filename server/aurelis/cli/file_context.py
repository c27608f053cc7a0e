"""`--file PATH [--lines 10-40]`: a source file (or a range of it) as request context.

The text goes to the model as `context["existing_code"]`, redacted here as well as in the
orchestrator's prompt builder, so no credential leaves the CLI layer. Files that are
secrets by nature (`.env`, `.netrc`, keys, cloud credentials: `core.secrets.files`) are
refused outright, also when reached through a symlink.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aurelis.cli.errors import CliUsageError
from aurelis.core.safe_read import UnreadableFile, read_regular_file
from aurelis.core.secrets import is_secret_file, redact, secret_file_refusal

__all__ = [
    "FileContext",
    "load_file_context",
    "parse_line_range",
    "language_for_path",
    "language_in_prompt",
    "MAX_FILE_BYTES",
]

#: A context file larger than this is almost certainly a mistake (a log, a binary).
MAX_FILE_BYTES = 2_000_000

_LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "jsx",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".swift": "swift",
    ".scala": "scala",
    ".sh": "bash",
    ".bash": "bash",
    ".zsh": "bash",
    ".lua": "lua",
    ".sql": "sql",
    ".html": "html",
    ".css": "css",
    ".json": "json",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".md": "markdown",
}

# Language names people write in prompts ("a Python function"), for highlighting answers.
_PROMPT_LANGUAGES = (
    (re.compile(r"\bpython\b", re.I), "python"),
    (re.compile(r"\btypescript\b", re.I), "typescript"),
    (re.compile(r"\b(?:javascript|node\.?js)\b", re.I), "javascript"),
    (re.compile(r"\brust\b", re.I), "rust"),
    (re.compile(r"\b(?:golang|go\s+(?:function|program|code))\b", re.I), "go"),
    (re.compile(r"\bjava\b", re.I), "java"),
    (re.compile(r"\bkotlin\b", re.I), "kotlin"),
    (re.compile(r"\bc\+\+", re.I), "cpp"),
    (re.compile(r"\bc#", re.I), "csharp"),
    (re.compile(r"\bruby\b", re.I), "ruby"),
    (re.compile(r"\b(?:bash|shell\s+script)\b", re.I), "bash"),
    (re.compile(r"\bsql\b", re.I), "sql"),
    (re.compile(r"\blua\b", re.I), "lua"),
)

_RANGE = re.compile(r"^\s*(\d*)\s*(?:[-:]\s*(\d*))?\s*$")


@dataclass(frozen=True)
class FileContext:
    """A file (or line range of it) ready to attach to a request."""

    path: Path
    text: str
    first_line: int
    last_line: int
    total_lines: int
    language: str | None

    @property
    def label(self) -> str:
        """`name:10-40`, or just the name for a whole file."""
        if self.first_line == 1 and self.last_line == self.total_lines:
            return self.path.name
        return f"{self.path.name}:{self.first_line}-{self.last_line}"

    def as_context(self) -> dict[str, str]:
        return {"existing_code": self.text}

    def as_metadata(self) -> dict[str, str]:
        return {"file": str(self.path), "lines": f"{self.first_line}-{self.last_line}"}


def parse_line_range(spec: str) -> tuple[int | None, int | None]:
    """`10-40` -> (10, 40); `10-` -> (10, None); `-40` -> (None, 40); `12` -> (12, 12).

    Lines are numbered from 1 and both ends are included.
    """
    if len(spec) > 40:  # no file has a line number that long (and int() would refuse it)
        raise CliUsageError(
            f"invalid line range {spec[:20]!r}...: the numbers are too long",
            hint="write it as START-END, e.g. --lines 10-40",
        )
    match = _RANGE.match(spec)
    if match is None or spec.strip() in ("", "-", ":"):
        raise CliUsageError(
            f"invalid line range {spec!r}", hint="write it as START-END, e.g. --lines 10-40"
        )
    start_text, end_text = match.group(1), match.group(2)
    start = int(start_text) if start_text else None
    if end_text is None:
        end = start  # a single number is a single line
    else:
        end = int(end_text) if end_text else None
    if (start is not None and start < 1) or (end is not None and end < 1):
        raise CliUsageError(f"invalid line range {spec!r}", hint="lines are numbered from 1")
    if start is not None and end is not None and end < start:
        raise CliUsageError(
            f"invalid line range {spec!r}: the end comes before the start",
            hint="write it as START-END, e.g. --lines 10-40",
        )
    return start, end


def load_file_context(path: Path, lines: str | None = None) -> FileContext:
    """Read `path` (optionally only `lines`) as redacted text for a request's context."""
    if is_secret_file(str(path)) or is_secret_file(str(_resolved(path))):
        raise CliUsageError(
            secret_file_refusal(str(path)),
            hint="pass the source file that uses the credentials instead",
        )
    text = _read_text(path)
    all_lines = text.splitlines(keepends=True)
    total = len(all_lines)
    start, end = parse_line_range(lines) if lines else (None, None)
    first, last = start or 1, end or total
    if total == 0 and lines is None:
        first, last = 1, 0
    elif first > total or last > total:
        raise CliUsageError(
            f"line range {lines} is outside {path} ({total} lines)",
            hint=f"pick lines between 1 and {total}",
        )
    selected = "".join(all_lines[first - 1 : last])
    return FileContext(
        path=path,
        text=redact(selected),
        first_line=first,
        last_line=last,
        total_lines=total,
        language=language_for_path(path),
    )


def _resolved(path: Path) -> Path:
    """Where a link points (`notes.txt -> ~/.netrc` is still a .netrc)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def _read_text(path: Path) -> str:
    # Regular files only, size-bounded: /dev/zero, a FIFO or a device never hang or fill
    # memory (core.safe_read).
    try:
        data = read_regular_file(path, MAX_FILE_BYTES)
    except UnreadableFile as error:
        hint = "pass a smaller file or a --lines range" if error.too_large else "check the path"
        raise CliUsageError(error.message, hint=hint) from None
    if b"\0" in data[:8192]:
        raise CliUsageError(f"{path} is a binary file", hint="pass a text source file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliUsageError(f"{path} is not UTF-8 text", hint="convert it to UTF-8") from None


def language_for_path(path: Path) -> str | None:
    """The highlighting language for a file name, when known."""
    return _LANGUAGES.get(path.suffix.lower())


def language_in_prompt(prompt: str) -> str | None:
    """A language the prompt names ("a Python function"), to highlight an unfenced answer."""
    for pattern, language in _PROMPT_LANGUAGES:
        if pattern.search(prompt):
            return language
    return None
