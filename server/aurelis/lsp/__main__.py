"""`python -m aurelis.lsp [--tcp HOST:PORT] [--log-file PATH]` runs the language server."""

from __future__ import annotations

import sys

from aurelis.lsp.server import main

if __name__ == "__main__":
    sys.exit(main())
