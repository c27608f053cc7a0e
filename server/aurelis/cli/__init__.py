"""The `aurelis` command line: one-shot requests, batch runs, an interactive shell, the
language server, and tools to inspect config, cache and health.

The typer application is `aurelis.cli.main.app`; the console script calls
`aurelis.cli.main.run()`.
"""

from __future__ import annotations

__all__: list[str] = []
