"""The options of `aurelis serve`, read without typer so editors get a fast start.

`aurelis.cli.main.run` looks at the command line before importing typer: when it is
`serve` with options this module understands, the language server starts at once;
anything else (`--help`, a malformed address, an unknown option) goes through the typer
command, which reports it like every other usage error.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["fast_server_argv", "server_argv", "tcp_address"]

_VALUE_OPTIONS = ("--tcp", "--log-file", "--max-message-bytes")
# vscode-languageclient appends --stdio for stdio transports; stdio is the default.
_FLAGS = ("--stdio",)


def tcp_address(value: str) -> tuple[str, int] | None:
    """`HOST:PORT` (or `:PORT`, meaning 127.0.0.1) -> (host, port); None if malformed."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        return None
    return (host.strip("[]") or "127.0.0.1"), int(port_text)


def server_argv(
    tcp: tuple[str, int] | None, log_file: str | None, max_message_bytes: str | None = None
) -> list[str]:
    """The argument list passed to `aurelis.lsp.server.main` (which validates the size)."""
    argv: list[str] = []
    if tcp is not None:
        argv += ["--tcp", f"{tcp[0]}:{tcp[1]}"]
    if log_file is not None:
        argv += ["--log-file", log_file]
    if max_message_bytes is not None:
        argv += ["--max-message-bytes", max_message_bytes]
    return argv


def fast_server_argv(args: Sequence[str]) -> list[str] | None:
    """The server's argv for `serve [OPTIONS]`, or None when typer must handle `args`."""
    if not args or args[0] != "serve":
        return None
    values = _option_values(args[1:])
    if values is None:
        return None
    tcp = None
    if "--tcp" in values:
        tcp = tcp_address(values["--tcp"])
        if tcp is None:
            return None
    return server_argv(tcp, values.get("--log-file"), values.get("--max-message-bytes"))


def _option_values(options: Sequence[str]) -> dict[str, str] | None:
    values: dict[str, str] = {}
    rest = list(options)
    while rest:
        option = rest.pop(0)
        name, equals, value = option.partition("=")
        if option in _FLAGS:
            continue
        if name not in _VALUE_OPTIONS:
            return None
        if not equals:
            if not rest:
                return None
            value = rest.pop(0)
        if not value:
            # typer rejects an empty path and an empty address in its own words.
            return None
        values[name] = value  # the last one wins, as with click
    return values
