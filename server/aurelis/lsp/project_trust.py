"""Project trust in the language server.

Project roots are the editor's workspace folders (never the server's cwd), each trusted
or not on its own. `initializationOptions.workspaceTrusted = false` (VS Code's restricted
mode) withholds every sensitive project setting whatever the trust store says.

    aurelis.trustProject   [{"uri": folder uri}] or none (every folder) → {"trusted": [paths]}
    aurelis.untrustProject  likewise                                     → {"untrusted": [paths]}

Withheld settings are announced with one window/showMessage per file version; the
`aurelis/status` notification carries `trust: {root: trusted|untrusted|restricted|
no-project-settings}`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pygls.uris import to_fs_path

from aurelis.core.trust import IgnoredSettings, set_project_scope, trust_state
from aurelis.lsp.errors import InvalidArguments, RequestFailed
from aurelis.lsp.protocol.lsp_any import plain

__all__ = [
    "RESTRICTED_MESSAGE",
    "TRUST_COMMAND",
    "UNTRUST_COMMAND",
    "ProjectTrust",
    "requested_folders",
]

TRUST_COMMAND = "aurelis.trustProject"
UNTRUST_COMMAND = "aurelis.untrustProject"
RESTRICTED_MESSAGE = "this workspace is in restricted mode; trust it in VS Code first"


class ProjectTrust:
    """The server's trust view: restricted or not, each root's state, pending notices."""

    def __init__(self) -> None:
        self.workspace_trusted = True
        self.states: dict[str, str] = {}
        self._notices: list[str] = []
        self._lock = threading.Lock()

    def read_options(self, options: Any) -> None:
        """`workspaceTrusted` from initializationOptions (absent means trusted)."""
        values = plain(options)
        flag = values.get("workspaceTrusted") if isinstance(values, Mapping) else None
        self.workspace_trusted = flag is not False

    def scope(self, roots: Sequence[Path]) -> None:
        """Project settings come from these roots alone (the first wins a conflict)."""
        set_project_scope(roots, restricted=not self.workspace_trusted)

    def notice(self, ignored: IgnoredSettings) -> None:
        # Called wherever the config loads (maybe a worker thread): queued, sent later.
        with self._lock:
            self._notices.append(ignored.message())

    def take_notices(self) -> list[str]:
        with self._lock:
            notices, self._notices = self._notices, []
        return notices

    def refresh(self, roots: Sequence[Path]) -> None:
        from aurelis.core.project_trust import settings_file_for

        self.states = {str(root): trust_state(settings_file_for(root)) for root in roots}

    def require_trusted_workspace(self) -> None:
        if not self.workspace_trusted:
            raise RequestFailed(f"Aurelis: {RESTRICTED_MESSAGE}")


def requested_folders(
    arguments: Sequence[object], roots: Sequence[Path], root_of: Callable[[Path], Path | None]
) -> list[Path]:
    """The folders a trust command names: `[{"uri": ...}]`, or none for every root."""
    values = [plain(item) for item in arguments]
    if not values or values == [None]:
        return list(roots)
    folders = []
    for value in values:
        uri = value.get("uri") if isinstance(value, Mapping) else None
        if not isinstance(uri, str) or not uri.startswith("file:"):
            raise InvalidArguments('expected arguments [{"uri": "<workspace folder uri>"}]')
        path = Path(to_fs_path(uri) or "")
        if root_of(path) is None:
            raise InvalidArguments(f"{path} is not in a workspace folder of this editor")
        folders.append(path)
    return folders
