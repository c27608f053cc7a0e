"""Layers point down: cli -> evaluation -> lsp -> models -> core, and lsp -> index -> core,
read from the source's own imports.

Every `import` and `from ... import` counts, wherever it sits (module top, a function body,
an `if TYPE_CHECKING:` block): a lazy upward import is still an upward edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "aurelis"

# Each layer and the packages of ours it must never import (the layers above it, and the
# test helpers, which no production code may depend on).
# The repository index sits beside the orchestrator: both use core alone, and neither
# knows the other.
# `evaluation` (aurelis eval) drives the lsp's inline path and sits between lsp and cli.
_ABOVE_LSP = ("aurelis.evaluation", "aurelis.cli", "aurelis.testing")
FORBIDDEN = {
    "core": ("aurelis.models", "aurelis.index", "aurelis.lsp", *_ABOVE_LSP),
    "models": ("aurelis.index", "aurelis.lsp", *_ABOVE_LSP),
    "index": ("aurelis.models", "aurelis.lsp", *_ABOVE_LSP),
    "lsp": _ABOVE_LSP,
    "evaluation": ("aurelis.cli", "aurelis.testing"),
}


def imported_modules(path: Path, package: Path = PACKAGE) -> set[str]:
    """Absolute names of every module `path` (under `package`) imports."""
    package_parts = ["aurelis", *path.relative_to(package).parent.parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package_parts[: len(package_parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            # `from aurelis import lsp` imports the subpackage aurelis.lsp.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def upward_imports(layer: str) -> list[str]:
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


def test_the_import_reader_sees_every_kind_of_import(tmp_path: Path) -> None:
    # The rule is only as good as the reader: a module with each import form, laid out as
    # aurelis/core/probe.py, must report all of them.
    module = tmp_path / "aurelis" / "core" / "probe.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import aurelis.cli.main\n"
        "from aurelis import lsp\n"
        "from ..models import types\n"
        "def late():\n"
        "    from aurelis.testing.model_server import ModelServer\n",
        encoding="utf-8",
    )
    names = imported_modules(module, package=tmp_path / "aurelis")
    assert {"aurelis.cli.main", "aurelis.lsp", "aurelis.models.types"} <= names
    assert "aurelis.testing.model_server" in names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_from_the_layers_above(layer: str) -> None:
    assert (PACKAGE / layer / "__init__.py").is_file()
    assert upward_imports(layer) == []


def test_model_and_task_names_live_in_core_and_are_the_public_ones() -> None:
    from aurelis.core import names
    from aurelis.models import ModelType, TaskType

    assert ModelType is names.ModelType
    assert TaskType is names.TaskType
