"""The language server object and the state its features share.

The feature modules (commands, code actions, inline completion) are handed this server;
they import it from here, never from `aurelis.lsp.server`, which wires them together. So
this module imports no feature module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from aurelis import __version__
from aurelis.core.trust import set_ignored_notifier
from aurelis.lsp.configuration import SettingsManager
from aurelis.lsp.context import ContextSources, ProjectCache
from aurelis.lsp.diagnostics import diagnostics_lines
from aurelis.lsp.live_config import get_config
from aurelis.lsp.model_calls import ModelCaller, orchestrator_health
from aurelis.lsp.project_trust import ProjectTrust
from aurelis.lsp.protocol.server_protocol import AurelisProtocol
from aurelis.lsp.root_configs import RootConfigs
from aurelis.lsp.status import STATUS_METHOD, StatusReporter
from aurelis.lsp.workspace.documents import DocumentSnapshot, RecentDocuments, snapshot
from aurelis.lsp.workspace.indexes import WorkspaceIndexes
from aurelis.lsp.workspace.recent_edits import RecentEdits
from aurelis.lsp.workspace.semantic import SemanticRetrieval, embeddings_route
from aurelis.lsp.workspace.workspace_files import WorkspaceRoots

__all__ = ["AurelisLanguageServer"]

logger = logging.getLogger("aurelis.lsp")


class AurelisLanguageServer(LanguageServer):
    """The server and the state its features share."""

    protocol: AurelisProtocol

    def __init__(self) -> None:
        super().__init__("aurelis", __version__, protocol_cls=AurelisProtocol)
        self.settings = SettingsManager()
        self.trust = ProjectTrust()
        set_ignored_notifier(self.trust.notice)
        self.status = StatusReporter(
            self._send_status, orchestrator_health, lambda: dict(self.trust.states)
        )
        self.models = ModelCaller(self.status)
        self.recent = RecentDocuments()
        self.roots = WorkspaceRoots(())
        self.indexes = WorkspaceIndexes()
        self.semantic = SemanticRetrieval(self.indexes)
        self.recent_edits = RecentEdits()
        self.sources = self._context_sources()
        self.root_configs = RootConfigs(self.settings.overrides)
        self.protocol.document_scope = self.document_scope
        self._diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.log_file: Path | None = None
        #: initializationOptions, applied once `initialized` has loaded the config.
        self.pending_options: Any = None
        #: The last `aurelis` settings section, applied again when the config reloads.
        self._section: Any = None
        self.config_loaded = False
        self.indexing_started = False

    @property
    def action_prompt_tokens(self) -> int:
        """The prompt token budget of an editor action (a live setting)."""
        return self.settings.server.action_prompt_tokens

    def _send_status(self, params: dict[str, Any]) -> None:
        shown = {**params, "index": self.indexes.status()}
        embeddings = self.semantic.status()
        if embeddings is not None:
            shown["embeddings"] = embeddings
        self.protocol.notify(STATUS_METHOD, shown)

    def start_indexing(self) -> None:
        """(Re)build the index of every root, as the settings and the live config say."""
        self.indexing_started = True
        loop = asyncio.get_running_loop()
        self.indexes.on_built = lambda: _call_soon(loop, self.status.publish)
        self.indexes.start(self.roots.roots, get_config().cache_dir, self.settings.server.index)
        self.semantic.on_synced = lambda: _call_soon(loop, self.status.publish)
        self.semantic.start(*embeddings_route(get_config(), self.settings.server.index.enabled))

    def _context_sources(self) -> ContextSources:
        return ContextSources(
            self.roots,
            self.open_documents,
            ProjectCache(),
            self.indexes,
            recent=self.recent_edits,
            open_document=lambda uri: snapshot(self.workspace, uri),
            semantic=self.semantic,
        )

    def document_scope(self, uri: str) -> contextlib.AbstractContextManager[None]:
        """Handle a message about `uri` with the settings of the folder holding it.

        Also before `initialized` has run: an editor may send its first requests in the
        same read, and without a scope they would be served with the merged settings."""
        from aurelis.core.config import config_in_force

        return config_in_force(self.root_configs.for_uri(uri))

    def sources_for(self, document: DocumentSnapshot) -> ContextSources:
        """Where context for a request about `document` may come from: its own workspace
        folder, unless the user lets requests draw from every folder."""
        if self.settings.server.context_across_roots:
            return self.sources
        path = document.path
        return self.sources.within(self.roots.folder_of_open_document(path) if path else None)

    def open_documents(self) -> list[DocumentSnapshot]:
        """Open documents, most recently edited first."""
        found = []
        for uri in self.recent.ordered():
            document = snapshot(self.workspace, uri)
            if document is not None:
                found.append(document)
        return found

    def set_roots(self, folders: Sequence[str]) -> None:
        self.roots = WorkspaceRoots(folders)
        self.sources = self._context_sources()
        self.root_configs.use_roots(self.roots)
        # Project settings come from these folders, never from the server's cwd.
        self.trust.scope(self.roots.roots)

    def reload_settings(self) -> None:
        """Load the config again (roots or trust changed) and re-apply the client's section."""
        from aurelis.core.config import load_config
        from aurelis.core.exceptions import ConfigurationError

        try:
            fresh = load_config()
        except ConfigurationError as error:
            self.show_warnings([f"Aurelis: {error}; keeping the current settings."])
            return
        live = get_config()
        live.update(
            {
                name: getattr(fresh, name)
                for name in type(live).model_fields
                if getattr(fresh, name) != getattr(live, name)
            }
        )
        self.settings.rebase()
        self.root_configs.invalidate()
        self.apply_settings(self._section, publish=False)
        self.announce_trust()

    def announce_trust(self) -> None:
        """Refresh each root's trust state, say what was withheld, publish the status."""
        self.trust.refresh(self.roots.roots)
        self.show_warnings(self.trust.take_notices())
        self.status.publish()

    def show_warnings(self, messages: Sequence[str]) -> None:
        for message in messages:
            logger.warning("%s", message)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=message)
            )

    def apply_settings(self, section: Any, *, publish: bool = True) -> None:
        """Apply an `aurelis` settings section and tell the user about invalid values."""
        self._section = section
        index_before = self.settings.server.index
        self.root_configs.invalidate()
        for problem in self.settings.apply(section):
            logger.warning("%s", problem)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=problem)
            )
        if self.indexing_started and self.settings.server.index != index_before:
            self.start_indexing()
        if publish:
            self.status.publish()

    def remember_diagnostics(self, uri: str, diagnostics: Sequence[types.Diagnostic]) -> None:
        """Diagnostics the client showed us (in code action requests), for later prompts."""
        self._diagnostics[uri] = list(diagnostics)

    def remembered_diagnostics(self, uri: str, rng: types.Range | None) -> tuple[str, ...]:
        found = self._diagnostics.get(uri, [])
        if rng is not None:
            found = [
                d
                for d in found
                if d.range.end.line >= rng.start.line and d.range.start.line <= rng.end.line
            ]
        return diagnostics_lines(found)

    def forget(self, uri: str) -> None:
        """The document was closed: drop what the server kept about it."""
        self.recent.forget(uri)
        self.recent_edits.forget(uri)
        self._diagnostics.pop(uri, None)


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Run `callback` on the server's loop (from another thread); dropped once it closed."""
    if not loop.is_closed():
        loop.call_soon_threadsafe(callback)
