"""The console-script entry point `run()` (`aurelis`, `python -m aurelis`).

Editors start `aurelis serve` and wait for the `initialize` result, so that path is
decided here before typer, rich or the config are imported: the language server starts
directly. Every other command line goes to the typer application (`aurelis.cli.app`).
Usage errors are reported like every other error: one `error:` line and one `hint:` line
on stderr, exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from aurelis.launch import drop_workspace_from_path, import_language_server

if TYPE_CHECKING:
    from aurelis.cli.app import app
    from aurelis.lsp.serve_options import ServeOptions

__all__ = ["app", "fast_serve_options", "run"]


def run(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point (`aurelis`, `python -m aurelis`)."""
    # Before anything else imports: the cwd is the editor's workspace (see aurelis.launch).
    drop_workspace_from_path()
    args = list(sys.argv[1:] if argv is None else argv)
    options = fast_serve_options(args)
    if options is not None:
        try:
            server_main = import_language_server()
        except ImportError:
            pass  # the typer command explains what is missing
        else:
            sys.exit(server_main(options))
    from aurelis.cli.app import app
    from aurelis.cli.errors import EXIT_OK

    app(args=args, prog_name="aurelis")
    sys.exit(EXIT_OK)  # pragma: no cover - the group always exits


def fast_serve_options(args: list[str]) -> ServeOptions | None:
    """The server's options for `serve [OPTIONS]`, or None when typer must handle `args`
    (another command, `--help`, or an option typer reports in its own words)."""
    if not args or args[0] != "serve":
        return None
    from aurelis.lsp.serve_options import ServeOptionsError, parse_serve_options

    try:
        return parse_serve_options(args[1:])
    except ServeOptionsError:
        return None


def __getattr__(name: str) -> Any:
    # `app` stays importable from here (tests, embedders) without typer on the fast path.
    if name == "app":
        from aurelis.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
