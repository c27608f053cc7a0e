"""Where generated tests go, following each ecosystem's convention.

Python: `tests/test_<module>.py` under the workspace folder when it has a `tests/` folder,
else `test_<module>.py` beside the module. JavaScript/TypeScript: `<name>.test.<ext>`
beside it. Go: `<name>_test.go`. Anything else: `test_<name>.<ext>` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pygls.uris import from_fs_path

from aurelis.lsp.documents import DocumentSnapshot
from aurelis.lsp.errors import InvalidArguments
from aurelis.lsp.symbols import language_family
from aurelis.lsp.workspace_files import WorkspaceRoots

__all__ = ["GeneratedTestFile", "locate_test_file"]


@dataclass(frozen=True)
class GeneratedTestFile:
    """The test file for a module, and how the tests should import the module."""

    path: Path
    uri: str
    import_hint: str


def locate_test_file(document: DocumentSnapshot, roots: WorkspaceRoots) -> GeneratedTestFile:
    """The test file for `document` (raises InvalidArguments for unsaved buffers)."""
    if document.path is None:
        raise InvalidArguments("save the file first: tests go to a file next to it")
    source = Path(document.path)
    family = language_family(document.language_id)
    if family == "python":
        path, hint = _python_target(source, roots)
    elif family == "js":
        path = source.with_name(f"{source.stem}.test{source.suffix}")
        hint = f"'./{source.stem}'"
    elif document.language_id == "go":
        path, hint = source.with_name(f"{source.stem}_test.go"), "the same package"
    else:
        path, hint = source.with_name(f"test_{source.name}"), f"`{source.stem}`"
    uri = from_fs_path(str(path)) or path.as_uri()
    return GeneratedTestFile(path=path, uri=uri, import_hint=hint)


def _python_target(source: Path, roots: WorkspaceRoots) -> tuple[Path, str]:
    root = roots.root_of(source)
    module = source.stem
    if root is not None:
        relative = source.resolve().relative_to(root).with_suffix("")
        parts = [part for part in relative.parts if part != "src"]
        if parts and parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts) or module
        if (root / "tests").is_dir():
            return root / "tests" / f"test_{source.stem}.py", f"`{module}`"
    return source.with_name(f"test_{source.stem}.py"), f"`{module}`"
