"""`python -m aurelis.lsp [--tcp HOST:PORT] [--log-file PATH] [...]` runs the language server.

No `from __future__` import: it would be looked up on sys.path before the workspace is
dropped from it.
"""

from aurelis.launch import drop_workspace_from_path, import_language_server

drop_workspace_from_path()

import sys  # noqa: E402  (after the path is safe)

if __name__ == "__main__":
    sys.exit(import_language_server()(None))
