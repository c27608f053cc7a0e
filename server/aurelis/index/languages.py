"""Tree-sitter grammars by file name, and which syntax nodes define a name.

The grammars are the tree-sitter project's own wheels (`tree-sitter-python`, ...), each
imported the first time a file of its language is parsed. A language without a grammar
here is still indexed, as plain text chunks without symbols.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Parser, QueryCursor

__all__ = ["GRAMMARS", "Grammar", "LoadedGrammar", "grammar_for", "load_grammar"]


@dataclass(frozen=True)
class Grammar:
    """A language's grammar module and the node types that define a name."""

    name: str
    module: str
    function: str
    #: Node types whose `name` field (or first identifier) is a defined symbol.
    definitions: frozenset[str]
    #: Query patterns for definitions a node type alone does not say (module-level only).
    extra_patterns: str = ""

    def query_source(self) -> str:
        own = " ".join(f"({kind}) @definition" for kind in sorted(self.definitions))
        return f"[{own}] {self.extra_patterns}"


@dataclass(frozen=True)
class LoadedGrammar:
    """A grammar's parser and its definitions query, ready to run (one thread at a time)."""

    parser: Parser
    definitions: QueryCursor


_C = frozenset(
    {"function_definition", "struct_specifier", "enum_specifier", "union_specifier",
     "type_definition"}
)  # fmt: skip
_CPP = _C | {"class_specifier", "namespace_definition"}
_JS = frozenset(
    {"function_declaration", "class_declaration", "method_definition",
     "generator_function_declaration"}
)  # fmt: skip
# Top-level `const name = ...` (exported or not); locals are left out, they are noise.
_JS_TOP = (
    "(program (lexical_declaration (variable_declarator) @definition)) "
    "(program (export_statement (lexical_declaration (variable_declarator) @definition)))"
)
_TS = _JS | {"interface_declaration", "type_alias_declaration", "enum_declaration"}

#: Every grammar this index knows, by language name.
GRAMMARS = {
    "python": Grammar(
        "python", "tree_sitter_python", "language",
        frozenset({"function_definition", "class_definition"}),
        "(module (expression_statement (assignment) @definition))",
    ),
    "javascript": Grammar("javascript", "tree_sitter_javascript", "language", _JS, _JS_TOP),
    "typescript": Grammar(
        "typescript", "tree_sitter_typescript", "language_typescript", _TS, _JS_TOP
    ),
    "tsx": Grammar("tsx", "tree_sitter_typescript", "language_tsx", _TS, _JS_TOP),
    "go": Grammar(
        "go", "tree_sitter_go", "language",
        frozenset({"function_declaration", "method_declaration", "type_spec", "const_spec",
                   "var_spec"}),
    ),
    "rust": Grammar(
        "rust", "tree_sitter_rust", "language",
        frozenset({"function_item", "struct_item", "enum_item", "trait_item", "const_item",
                   "static_item", "type_item", "mod_item", "macro_definition"}),
    ),
    "java": Grammar(
        "java", "tree_sitter_java", "language",
        frozenset({"class_declaration", "interface_declaration", "enum_declaration",
                   "method_declaration", "constructor_declaration", "record_declaration"}),
    ),
    "c": Grammar("c", "tree_sitter_c", "language", _C),
    "cpp": Grammar("cpp", "tree_sitter_cpp", "language", _CPP),
}  # fmt: skip

_SUFFIXES = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}  # fmt: skip


def grammar_for(path: str) -> Grammar | None:
    """The grammar of a file, by its suffix."""
    name = _SUFFIXES.get(PurePosixPath(path).suffix.lower())
    return GRAMMARS.get(name) if name else None


@functools.cache
def load_grammar(grammar: Grammar) -> LoadedGrammar | None:
    """The grammar's parser and query, or None when its wheel is missing or will not load.

    Loaded once per process and shared: callers parse from one thread at a time.
    """
    try:
        from tree_sitter import Language, Parser, Query, QueryCursor

        module = importlib.import_module(grammar.module)
        language = Language(getattr(module, grammar.function)())
        query = Query(language, grammar.query_source())
        return LoadedGrammar(Parser(language), QueryCursor(query))
    except (ImportError, AttributeError, ValueError, TypeError, NameError):
        return None
