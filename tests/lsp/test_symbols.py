"""Reading source cheaply: enclosing definitions, headers and imported paths."""

from __future__ import annotations

from pathlib import Path

from aurelis.lsp.symbols import enclosing_definition, enclosing_header, imported_paths

PYTHON = (
    "import os\n\n\nclass Box:\n    @property\n    def size(\n        self,\n    ) -> int:\n"
    '        """Old doc."""\n        return 1\n\n    other = 2\n'
)


def test_enclosing_python_definition_spans_decorators_and_signature() -> None:
    found = enclosing_definition(PYTHON, PYTHON.index("return 1"), "python")
    assert found is not None and found.name == "size"
    assert PYTHON[found.start : found.header_end] == (
        "    @property\n    def size(\n        self,\n    ) -> int:\n"
    )
    assert found.docstring is not None
    assert PYTHON[found.docstring[0] : found.docstring[1]] == '        """Old doc."""\n'


def test_enclosing_braced_definition_matches_braces() -> None:
    code = "function a() {\n  if (x) {\n    y();\n  }\n}\nfunction b() {}\n"
    found = enclosing_definition(code, code.index("y();"), "javascript")
    assert found is not None and found.name == "a"
    assert code[found.start : found.end] == "function a() {\n  if (x) {\n    y();\n  }\n}\n"


def test_enclosing_header_is_found_by_indentation() -> None:
    assert enclosing_header(PYTHON, PYTHON.index("return 1"), "python") == "def size("
    assert enclosing_header(PYTHON, PYTHON.index("other"), "python") == "class Box:"


def test_imported_paths_resolve_relative_and_absolute_modules(tmp_path: Path) -> None:
    source = "from . import util\nfrom pkg.core import run\nimport json\n"
    paths = imported_paths(source, "python", tmp_path / "pkg" / "main.py", [tmp_path])
    assert tmp_path / "pkg" / "util.py" in paths
    assert tmp_path / "pkg" / "core.py" in paths
    assert tmp_path / "json.py" in paths
