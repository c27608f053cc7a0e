"""Aurelis: an AI coding assistant backend (language server + model orchestrator)."""

import sys as _sys

__version__ = "0.1.0"

# `python -m aurelis...` sets argv[0] to "-m" while it imports the package, after putting the
# current directory (an editor's workspace) first on sys.path. Drop it now, before any
# subpackage runs an import; a library import of aurelis leaves sys.path alone.
if _sys.argv[:1] == ["-m"]:
    from aurelis.launch import drop_workspace_from_path as _drop_workspace_from_path

    _drop_workspace_from_path()
