"""Where generated tests go, following each ecosystem's convention.

Python: `tests/test_<module>.py` under the workspace folder when it has a `tests/` folder,
else `test_<module>.py` beside the module. JavaScript/TypeScript: `<name>.test.<ext>`
beside it. Go: `<name>_test.go`. Anything else: `test_<name>.<ext>` beside it.

Tests are written inside the workspace folders only: never for a document outside them
(or reached through `..`), and never where a symbolic link (a linked `tests/` or source
folder, a linked test file) would put the file outside them once resolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pygls.uris import from_fs_path

from aurelis.lsp.errors import InvalidArguments
from aurelis.lsp.symbols import language_family
from aurelis.lsp.workspace.documents import DocumentSnapshot
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots

__all__ = ["GeneratedTestFile", "ensure_inside_workspace", "locate_test_file"]


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
    _check_source(source, document.uri, roots)
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
    ensure_inside_workspace(path, roots)
    uri = from_fs_path(str(path)) or path.as_uri()
    return GeneratedTestFile(path=path, uri=uri, import_hint=hint)


def ensure_inside_workspace(path: Path, roots: WorkspaceRoots) -> None:
    """Refuse a file to be written whose resolved location is outside the workspace."""
    if roots.root_of(path) is None:
        try:
            where = str(path.resolve())
        except (OSError, RuntimeError):
            where = str(path)
        raise InvalidArguments(
            f"Aurelis will not write {path.name}: it would land at {where}, outside the "
            "workspace folders (a symbolic link leads out of the workspace)"
        )


def _check_source(source: Path, uri: str, roots: WorkspaceRoots) -> None:
    if ".." in source.parts or ".." in unquote(urlsplit(uri).path).split("/"):
        raise InvalidArguments(
            f"Aurelis will not write tests for {source.name}: its path goes through '..'; "
            "open it from inside the workspace folder"
        )
    if not roots:
        raise InvalidArguments(
            "Aurelis writes tests only inside a workspace folder; open the project folder"
        )
    if roots.root_of(source) is None:
        raise InvalidArguments(
            f"Aurelis will not write tests for {source.name}: it is outside the workspace "
            "folders (or reached through a symbolic link that leads out of them)"
        )


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
