"""The Aurelis language server (pygls 2.x): editor actions, inline completion, context.

Run it with `aurelis serve` (or `python -P -m aurelis.lsp`: `-P` keeps a workspace's files
from being imported); embed it with
`aurelis.lsp.server.main(ServeOptions(...))`.
"""

from __future__ import annotations

__all__: list[str] = []
