"""Keep the user's workspace off the import path of every Aurelis program.

`python -m aurelis ...` puts the current directory first on `sys.path`, and editors start
the server with the workspace as its current directory: a workspace file named like a
standard-library module (`secrets.py`, `uuid.py`, `ssl.py`) would be imported in place of
the real one and run with the user's rights. The entry points call
`drop_workspace_from_path()` before anything else imports.

Only the current directory and `''` (which means it) go. The directory this package was
loaded from stays even when it is the current directory: an editable install or
`PYTHONPATH` put it there on purpose. Interpreter start-up itself (`runpy` imports a
handful of modules before any package code runs) and a workspace `aurelis/` package are out
of a package's reach: launch with the console script or `python -P -m aurelis`.

No `from __future__ import annotations` here: it imports the `__future__` module, which
the workspace could shadow. Only `os` and `sys`, loaded before `runpy` runs.
"""

import os
import sys

TYPE_CHECKING = False  # typing itself is not loaded yet (see above)
if TYPE_CHECKING:
    from collections.abc import Callable

    from aurelis.lsp.serve_options import ServeOptions

__all__ = ["drop_workspace_from_path", "import_language_server"]


def drop_workspace_from_path() -> list[str]:
    """Remove the current directory from `sys.path`; returns the entries removed."""
    cwd = _resolved(os.curdir)
    ours = _resolved(os.path.join(os.path.dirname(__file__), os.pardir))
    removed = [
        entry
        for entry in sys.path
        if entry == "" or (cwd is not None and _resolved(entry) == cwd and cwd != ours)
    ]
    for entry in removed:
        sys.path.remove(entry)
    return removed


def _resolved(path: str) -> str | None:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # a deleted cwd, a path with a NUL byte
        return None


def import_language_server() -> "Callable[[ServeOptions | None], int]":
    """`aurelis.lsp.server.main`, imported with the garbage collector paused.

    Importing the server (lsprotocol above all) allocates a few hundred thousand objects
    that live as long as the process; collections that walk them while the editor waits
    for `initialize` cost about a tenth of the start-up and free nothing.
    """
    import gc  # built in: never looked up on sys.path

    gc.disable()
    try:
        from aurelis.lsp.server import main
    finally:
        # Keep later collections off them too: they are permanent.
        gc.freeze()
        gc.enable()
    return main
