"""Each workspace root's own settings: trust per root.

With several workspace folders, one trusted folder must not decide where another folder's
code goes. A request about a document is served with the settings of the folder holding
it: the user's settings (environment, config file), that folder's project file where the
user trusts it (`core.trust`), and the editor's settings section on top. A document
outside every folder gets the user's settings alone. The settings in force are set for
the whole handling of the request (`core.config.config_in_force`), so routing, endpoint,
token, deployments and limits all follow without each feature asking.

With one folder (or none) the process-wide config already is that folder's (or the
user's) settings: documents inside it use it as is, and nothing more is loaded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pygls.uris import to_fs_path

from aurelis.lsp.workspace.workspace_files import WorkspaceRoots

if TYPE_CHECKING:
    from aurelis.core.config import AurelisConfig

__all__ = ["RootConfigs"]

logger = logging.getLogger("aurelis.lsp")

#: The editor's settings for a config loaded below them: field → value.
Overrides = Callable[["AurelisConfig"], dict[str, Any]]


class RootConfigs:
    """The settings each document is served with (see the module docstring)."""

    def __init__(self, overrides: Overrides) -> None:
        self._overrides = overrides
        self._roots = WorkspaceRoots(())
        self._configs: dict[Path | None, AurelisConfig] = {}
        self._lock = threading.Lock()

    def use_roots(self, roots: WorkspaceRoots) -> None:
        """The editor's folders changed: every answer is recomputed."""
        with self._lock:
            self._roots = roots
            self._configs.clear()

    def invalidate(self) -> None:
        """Settings, files or trust changed: load each folder's settings again when used."""
        with self._lock:
            self._configs.clear()

    def for_uri(self, uri: str) -> AurelisConfig | None:
        """The settings for a request about `uri`; None means the process-wide ones."""
        folder = self._folder(uri)
        if len(self._roots.roots) <= 1 and (folder is not None or not self._roots.roots):
            return None
        with self._lock:
            config = self._configs.get(folder)
            if config is None:
                config = self._configs[folder] = self._load(folder)
        return config

    def _folder(self, uri: str) -> Path | None:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        return self._roots.folder_of_open_document(path) if path else None

    def _load(self, folder: Path | None) -> AurelisConfig:
        """The user's settings, `folder`'s project file as trust allows, the editor's on top."""
        from aurelis.core import config_layers
        from aurelis.core.trust import project_scope

        with project_scope([folder] if folder is not None else []):
            loaded, errors = config_layers.load_config_tolerant()
        for error in errors:
            logger.warning("settings for %s: %s", folder or "files outside the workspace", error)
        try:
            loaded.update(self._overrides(loaded))
        except Exception as error:  # noqa: BLE001 - reported when the editor sent them
            logger.debug("editor settings not applied to %s: %s", folder, error)
        return loaded
