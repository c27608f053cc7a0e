"""Layers point down: cli -> evaluation -> lsp -> models -> core, and lsp -> index -> core,
read from the source's own imports.

Inside the language server the rooms point down too: `protocol` below `workspace` below
the shared modules at `lsp/`'s top level below the features (`inline`, `actions`), which
do not import each other; only `server.py` wires them all. `core/secrets` is used through
its package face. No folder holds more than about 20 modules.

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


#: Modules a package folder may hold (besides `__init__.py`) before it wants rooms.
MAX_MODULES = 20
LSP = PACKAGE / "lsp"
_FEATURES = ("aurelis.lsp.inline", "aurelis.lsp.actions")


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def _room_allows(room: Path, name: str) -> bool:
    """Whether a module in lsp room `room` may import `name` (an aurelis.lsp module)."""
    if room == LSP / "protocol":
        return _within(name, ("aurelis.lsp.protocol",))
    if room == LSP / "workspace":
        return _within(name, ("aurelis.lsp.protocol", "aurelis.lsp.workspace"))
    if room == LSP / "inline":
        return not _within(name, ("aurelis.lsp.actions",))
    if room == LSP / "actions":
        return not _within(name, ("aurelis.lsp.inline",))
    return not _within(name, _FEATURES)  # the shared modules at lsp/'s top level


def lsp_room_violations(package: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted((package / "lsp").rglob("*.py")):
        if path == package / "lsp" / "server.py":
            continue  # the one module that wires every feature
        room = PACKAGE / path.parent.relative_to(package)
        for name in sorted(imported_modules(path, package)):
            if name.startswith("aurelis.lsp.") and not _room_allows(room, name):
                found.append(f"{path.relative_to(package)} imports {name}")
    return found


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


def test_lsp_rooms_point_down_and_features_do_not_import_each_other() -> None:
    assert (LSP / "protocol" / "__init__.py").is_file()
    assert lsp_room_violations() == []


def test_the_room_rule_catches_a_feature_reaching_into_another(tmp_path: Path) -> None:
    package = tmp_path / "aurelis"
    for room, source in (
        ("lsp/protocol/wire.py", "from aurelis.lsp.workspace import documents\n"),
        ("lsp/inline/completion.py", "from aurelis.lsp.actions import catalog\n"),
        ("lsp/context.py", "import aurelis.lsp.inline.cache\n"),
        ("lsp/actions/commands.py", "from aurelis.lsp.workspace import documents\n"),
    ):
        module = package / room
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(source, encoding="utf-8")
    assert lsp_room_violations(package) == [
        "lsp/context.py imports aurelis.lsp.inline.cache",
        "lsp/inline/completion.py imports aurelis.lsp.actions",
        "lsp/inline/completion.py imports aurelis.lsp.actions.catalog",
        "lsp/protocol/wire.py imports aurelis.lsp.workspace",
        "lsp/protocol/wire.py imports aurelis.lsp.workspace.documents",
    ]


@pytest.mark.parametrize(
    "folder",
    sorted(str(path.parent.relative_to(PACKAGE)) for path in PACKAGE.rglob("__init__.py")),
)
def test_no_package_folder_holds_more_than_about_twenty_modules(folder: str) -> None:
    modules = [p.name for p in (PACKAGE / folder).glob("*.py") if p.name != "__init__.py"]
    assert len(modules) <= MAX_MODULES, f"{folder}: {len(modules)} modules; give it rooms"


def test_secrets_are_used_through_their_package_face() -> None:
    secrets = PACKAGE / "core" / "secrets"
    private = tuple(f"aurelis.core.secrets.{p.stem}" for p in secrets.glob("[!_]*.py"))
    found = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if secrets not in path.parents
        for name in sorted(imported_modules(path))
        if _within(name, private)
    ]
    assert found == []
