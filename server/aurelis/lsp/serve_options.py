"""The language server's command-line options, read once into one typed value.

Editors start `aurelis serve [--stdio]` or `python -m aurelis.lsp` and wait for the
`initialize` answer, so this reader uses neither typer nor argparse and imports nothing
but the standard library: `aurelis.cli.main` calls it before typer is loaded, and
`aurelis.lsp.server.main` takes the `ServeOptions` it returns. The typer command (help and
usage errors in the CLI's own words) builds the same value through `tcp_address`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "USAGE",
    "ServeOptions",
    "ServeOptionsError",
    "parse_serve_options",
    "tcp_address",
]

USAGE = "usage: aurelis serve [--tcp HOST:PORT] [--log-file PATH] [--max-message-bytes N]"
_VALUE_OPTIONS = ("--tcp", "--log-file", "--max-message-bytes")
# vscode-languageclient appends --stdio for stdio transports; stdio is the default.
_FLAGS = ("--stdio",)
_MAX_PORT_DIGITS = 5


class ServeOptionsError(ValueError):
    """An option the server cannot start with (the message names it)."""


@dataclass(frozen=True)
class ServeOptions:
    """How to run the server: stdio unless `tcp`; logs to stderr unless `log_file`."""

    tcp: tuple[str, int] | None = None
    log_file: Path | None = None
    #: None: AURELIS_LSP_MAX_MESSAGE_BYTES or the default (see `protocol.wire`).
    max_message_bytes: int | None = None


def tcp_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` (or `:PORT`, meaning 127.0.0.1; `[::1]:PORT` for IPv6) -> (host, port)."""
    host, separator, port = value.rpartition(":")
    digits = port.isascii() and port.isdigit() and len(port) <= _MAX_PORT_DIGITS
    if not separator or not digits or int(port) > 65535:
        raise ServeOptionsError(f"--tcp expects HOST:PORT (port 0-65535), got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def parse_serve_options(args: Sequence[str]) -> ServeOptions:
    """The options after `serve`; `ServeOptionsError` for anything else (help included)."""
    values = _option_values(args)
    tcp = values.get("--tcp")
    log_file = values.get("--log-file")
    size = values.get("--max-message-bytes")
    return ServeOptions(
        tcp=None if tcp is None else tcp_address(tcp),
        log_file=None if log_file is None else Path(log_file),
        max_message_bytes=None if size is None else _byte_count(size),
    )


def _byte_count(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ServeOptionsError(f"--max-message-bytes expects a number of bytes, got {text!r}")
    return int(text)


def _option_values(options: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    rest = list(options)
    while rest:
        option = rest.pop(0)
        if option in _FLAGS:
            continue
        name, equals, value = option.partition("=")
        if name not in _VALUE_OPTIONS:
            raise ServeOptionsError(f"unknown option {option!r}")
        if not equals:
            if not rest:
                raise ServeOptionsError(f"{name} needs a value")
            value = rest.pop(0)
        if not value:
            raise ServeOptionsError(f"{name} needs a value")
        values[name] = value  # the last one wins, as with click
    return values
