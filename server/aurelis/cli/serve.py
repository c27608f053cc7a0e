"""`aurelis serve`: start the language server (stdio by default, or TCP).

The server module is imported only here, so every other command starts without pygls.
Nothing may be printed on stdout: with stdio it carries the protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aurelis.cli import runtime
from aurelis.cli.errors import CliUsageError, error_boundary
from aurelis.core.exceptions import AurelisError

__all__ = ["serve_command", "server_argv", "parse_tcp"]


def parse_tcp(value: str) -> tuple[str, int]:
    """`HOST:PORT` (or `:PORT`, meaning 127.0.0.1) -> (host, port)."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise CliUsageError(
            f"invalid --tcp address {value!r}",
            hint="write it as HOST:PORT, e.g. --tcp 127.0.0.1:2087",
        )
    return (host.strip("[]") or "127.0.0.1"), int(port_text)


def server_argv(tcp: str | None, log_file: Path | None) -> list[str]:
    """The argument list passed to `aurelis.lsp.server.main`."""
    argv: list[str] = []
    if tcp is not None:
        host, port = parse_tcp(tcp)
        argv += ["--tcp", f"{host}:{port}"]
    if log_file is not None:
        argv += ["--log-file", str(log_file)]
    return argv


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
    stdio: Annotated[
        bool,
        # vscode-languageclient appends --stdio for stdio transports; it is the default.
        typer.Option("--stdio", hidden=True),
    ] = False,
) -> None:
    """Run the Aurelis language server (for editors)."""
    with error_boundary(debug=runtime.STATE.debug):
        argv = server_argv(tcp, log_file)
        try:
            from aurelis.lsp.server import main as server_main
        except ImportError as error:
            raise AurelisError(
                f"the language server is not available in this installation ({error})",
                hint="reinstall aurelis; `aurelis doctor` shows what is missing",
            ) from None
        result = server_main(argv)
    raise typer.Exit(int(result or 0))
