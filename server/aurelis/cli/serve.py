"""`aurelis serve`: start the language server (stdio by default, or TCP).

The server module is imported only here, so every other command starts without pygls.
Nothing may be printed on stdout: with stdio it carries the protocol. Editors usually skip
this typer command: `aurelis.cli.main.run` starts the server directly when
`aurelis.lsp.serve_options` reads the options; this command handles the rest (help, usage
errors) and hands the server the same typed `ServeOptions`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aurelis.cli import runtime
from aurelis.cli.errors import CliUsageError, error_boundary
from aurelis.core.exceptions import AurelisError
from aurelis.lsp.serve_options import ServeOptions, ServeOptionsError, tcp_address

__all__ = ["serve_command", "serve_options"]


def serve_options(
    tcp: str | None, log_file: Path | None, max_message_bytes: int | None = None
) -> ServeOptions:
    """The server's options from the typer command's values (a bad address: usage error)."""
    try:
        address = None if tcp is None else tcp_address(tcp)
    except ServeOptionsError:
        raise CliUsageError(
            f"invalid --tcp address {tcp!r}",
            hint="write it as HOST:PORT, e.g. --tcp 127.0.0.1:2087",
        ) from None
    return ServeOptions(tcp=address, log_file=log_file, max_message_bytes=max_message_bytes)


def serve_command(
    tcp: Annotated[
        str | None,
        typer.Option(
            "--tcp", metavar="HOST:PORT", show_default=False, help="Listen on TCP instead of stdio."
        ),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", show_default=False, help="Write the server's log here."),
    ] = None,
    max_message_bytes: Annotated[
        int | None,
        typer.Option(
            "--max-message-bytes",
            metavar="N",
            show_default=False,
            help="Largest LSP message accepted (default 64 MB, or AURELIS_LSP_MAX_MESSAGE_BYTES).",
        ),
    ] = None,
    stdio: Annotated[
        bool,
        # vscode-languageclient appends --stdio for stdio transports; it is the default.
        typer.Option("--stdio", hidden=True),
    ] = False,
) -> None:
    """Run the Aurelis language server (for editors)."""
    with error_boundary(debug=runtime.STATE.debug):
        options = serve_options(tcp, log_file, max_message_bytes)
        try:
            from aurelis.lsp.server import main as server_main
        except ImportError as error:
            raise AurelisError(
                f"the language server is not available in this installation ({error})",
                hint="reinstall aurelis; `aurelis doctor` shows what is missing",
            ) from None
        result = server_main(options)
    raise typer.Exit(int(result or 0))
