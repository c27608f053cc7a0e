"""The editor's diagnostics as prompt text: what an action tells the model about the problems
the editor already shows, so fixes and explanations address them."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

__all__ = ["diagnostics_lines"]


def diagnostics_lines(diagnostics: Sequence[types.Diagnostic]) -> tuple[str, ...]:
    """Diagnostics as short lines for a prompt ("line 3: name 'x' is not defined (pyflakes)")."""
    lines = []
    for diagnostic in diagnostics:
        source = f" ({diagnostic.source})" if diagnostic.source else ""
        lines.append(f"line {diagnostic.range.start.line + 1}: {diagnostic.message}{source}")
    return tuple(lines)
