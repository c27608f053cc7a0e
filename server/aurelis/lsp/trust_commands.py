"""`aurelis.trustProject` / `aurelis.untrustProject`: what `aurelis trust` does, from the
editor (contract in `lsp.project_trust`). Both reload the settings and publish the status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from aurelis.lsp.project_trust import TRUST_COMMAND, UNTRUST_COMMAND, requested_folders
from aurelis.lsp.server_state import AurelisLanguageServer

__all__ = ["is_settings_file", "register"]

_SETTINGS_FILES = frozenset({".aurelis.toml", "pyproject.toml"})


def is_settings_file(uri: str) -> bool:
    """Whether saving `uri` may change a project's settings (and so its trust)."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return path is not None and Path(path).name in _SETTINGS_FILES


def register(server: AurelisLanguageServer) -> None:
    @server.command(TRUST_COMMAND)
    def trust(ls: LanguageServer, *arguments: object) -> dict[str, Any]:
        from aurelis.core.project_trust import settings_file_for, trust_project

        server.trust.require_trusted_workspace()
        trusted = []
        for folder in _folders(server, arguments):
            if settings_file_for(folder) is not None:
                trust_project(folder)
                trusted.append(str(folder))
        server.reload_settings()
        answer: dict[str, Any] = {"trusted": trusted}
        if not trusted:
            answer["message"] = "no project settings (.aurelis.toml or [tool.aurelis]) to trust"
        return answer

    @server.command(UNTRUST_COMMAND)
    def untrust(ls: LanguageServer, *arguments: object) -> dict[str, Any]:
        from aurelis.core.project_trust import untrust_project

        untrusted = [
            str(folder)
            for folder in _folders(server, arguments)
            if untrust_project(folder) is not None
        ]
        server.reload_settings()
        return {"untrusted": untrusted}


def _folders(server: AurelisLanguageServer, arguments: tuple[object, ...]) -> list[Path]:
    return requested_folders(arguments, server.roots.roots, server.roots.root_of)
