"""The Aurelis language server (pygls 2.x): editor actions, inline completion, context.

Run it with `python -m aurelis.lsp` (or `aurelis serve`); embed it with
`aurelis.lsp.server.main(ServeOptions(...))`.
"""

from __future__ import annotations

__all__: list[str] = []
