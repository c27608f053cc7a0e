"""`aurelis trust [PATH]`, `aurelis untrust [PATH]`, `aurelis trust --list`.

A project's sensitive settings (endpoint, token source, log file, cache dir, ...) apply
only after the user trusts the project; trust covers the settings as they are now, so an
edited file must be trusted again. PATH defaults to the project the other commands use
(AURELIS_PROJECT_ROOT, else the current directory).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from aurelis.cli import runtime
from aurelis.cli.errors import CliUsageError, error_boundary
from aurelis.core.project_trust import trust_project, untrust_project
from aurelis.core.trust import ProjectFile, TrustStore, read_project_file

__all__ = ["register", "trust_command", "untrust_command"]

_PathArgument = Annotated[
    Path | None,
    typer.Argument(show_default=False, help="The project folder (default: the current project)."),
]


def register(app: typer.Typer) -> None:
    """Add `trust` and `untrust` to the root command."""
    app.command("trust")(trust_command)
    app.command("untrust")(untrust_command)


def _default_path(path: Path | None) -> Path:
    if path is not None:
        return path
    return Path(os.environ.get("AURELIS_PROJECT_ROOT") or Path.cwd())


def trust_command(
    path: _PathArgument = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the trusted projects and whether they changed.")
    ] = False,
) -> None:
    """Trust a project's settings file, so its endpoint, token, paths and routing apply."""
    with error_boundary(debug=runtime.STATE.debug):
        if list_:
            if path is not None:
                raise CliUsageError("--list takes no PATH", hint="run `aurelis trust --list`")
            _print_list(TrustStore())
            return
        folder = _default_path(path)
        if not folder.exists():
            raise CliUsageError(f"{folder} does not exist", hint="pass a project folder")
        trusted = trust_project(folder)
        project = trusted.project
        print(f"trusted {project.path} (sha256 {project.digest[:12]})")
        if trusted.sensitive:
            print(f"now applied from it: {', '.join(trusted.sensitive)}")
        print("editing the file withdraws the trust until you run `aurelis trust` again")


def untrust_command(path: _PathArgument = None) -> None:
    """Withdraw trust: the project's sensitive settings are ignored again."""
    with error_boundary(debug=runtime.STATE.debug):
        folder = _default_path(path)
        forgotten = untrust_project(folder)
        if forgotten is None:
            raise CliUsageError(
                f"{folder} is not a trusted project", hint="`aurelis trust --list` shows them"
            )
        print(f"untrusted {forgotten}")


def _print_list(store: TrustStore) -> None:
    entries = store.entries()
    if not entries:
        print("no trusted projects")
        return
    for name, entry in sorted(entries.items()):
        print(f"{_state(Path(name), entry.get('sha256'))}\t{entry.get('trusted_at', '?')}\t{name}")


def _state(settings_file: Path, digest: object) -> str:
    if not settings_file.is_file():
        return "missing"
    try:
        project: ProjectFile = read_project_file(settings_file)
    except Exception:  # noqa: BLE001 - an unreadable file is simply not trusted now
        return "unreadable"
    return "trusted" if project.digest == digest else "changed"
