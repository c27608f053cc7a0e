"""`python -m aurelis` runs the CLI (so editors can start `python -m aurelis serve`).

No `from __future__` import: it would be looked up on sys.path before the workspace is
dropped from it (the package's `__init__` already did that for `-m`; this is the guard for
any other way of running this file).
"""

from aurelis.launch import drop_workspace_from_path

drop_workspace_from_path()

from aurelis.cli.main import run  # noqa: E402  (after the path is safe)

if __name__ == "__main__":
    run()
