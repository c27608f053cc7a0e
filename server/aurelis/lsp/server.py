"""The Aurelis language server (pygls 2.x): wiring, lifecycle and the entry point.

    python -m aurelis.lsp [--tcp HOST:PORT] [--log-file PATH]

stdio by default. Logs go to stderr or the log file, never stdout (the protocol's).
Each feature lives in its own module; this one creates the server, keeps the state they
share and handles the document and configuration lifecycle.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from aurelis import __version__
from aurelis.core.log import configure_logging
from aurelis.lsp import code_actions, commands, inline_completion
from aurelis.lsp.actions import diagnostics_lines
from aurelis.lsp.configuration import SECTION, SettingsManager
from aurelis.lsp.context import ContextSources, ProjectCache
from aurelis.lsp.documents import DocumentSnapshot, RecentDocuments, snapshot
from aurelis.lsp.live_config import get_config, load_or_defaults, warm_up
from aurelis.lsp.model_calls import ModelCaller, close_orchestrator, orchestrator_health
from aurelis.lsp.protocol import AurelisProtocol
from aurelis.lsp.status import STATUS_METHOD, StatusReporter
from aurelis.lsp.workspace_files import WorkspaceRoots

__all__ = ["AurelisLanguageServer", "create_server", "main"]

logger = logging.getLogger("aurelis.lsp")
_CONFIGURATION_TIMEOUT = 10.0


class AurelisLanguageServer(LanguageServer):
    """The server and the state its features share."""

    protocol: AurelisProtocol

    def __init__(self) -> None:
        super().__init__("aurelis", __version__, protocol_cls=AurelisProtocol)
        self.settings = SettingsManager()
        self.status = StatusReporter(self._send_status, orchestrator_health)
        self.models = ModelCaller(self.status)
        self.recent = RecentDocuments()
        self.roots = WorkspaceRoots(())
        self.sources = ContextSources(self.roots, self.open_documents, ProjectCache())
        self.inline = inline_completion.InlineCompletions(self)
        self._diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.log_file: Path | None = None
        #: initializationOptions, applied once `initialized` has loaded the config.
        self.pending_options: Any = None

    def _send_status(self, params: dict[str, Any]) -> None:
        self.protocol.notify(STATUS_METHOD, params)

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
        self.sources = ContextSources(self.roots, self.open_documents, ProjectCache())

    def apply_settings(self, section: Any, *, publish: bool = True) -> None:
        """Apply an `aurelis` settings section and tell the user about invalid values."""
        for problem in self.settings.apply(section):
            logger.warning("%s", problem)
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=problem)
            )
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
        self.recent.forget(uri)
        self.inline.forget(uri)
        self._diagnostics.pop(uri, None)


def _workspace_folders(params: types.InitializeParams) -> list[str]:
    uris = [folder.uri for folder in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    paths = [to_fs_path(uri) for uri in uris if uri.startswith("file:")]
    if not paths and params.root_path:
        paths = [params.root_path]
    return [path for path in paths if path]


def _supports_configuration_pull(ls: AurelisLanguageServer) -> bool:
    workspace = ls.client_capabilities.workspace
    return bool(workspace and workspace.configuration)


async def _pull_configuration(ls: AurelisLanguageServer) -> None:
    """Ask the client for the `aurelis` section (clients that push nothing on change)."""
    if not _supports_configuration_pull(ls):
        return
    params = types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(params), _CONFIGURATION_TIMEOUT
        )
    except Exception as error:  # noqa: BLE001 - settings stay as they were
        logger.warning("workspace/configuration failed: %s", type(error).__name__)
        return
    # null means the client keeps no such section, not "every setting removed".
    if result and result[0] is not None:
        ls.apply_settings(result[0])


def _load_config(ls: AurelisLanguageServer) -> None:
    """Load the config (the first time anything needs it) and log as it says."""
    problem = load_or_defaults()
    if problem is not None:
        message = f"Aurelis: {problem}; using the default settings until it is fixed."
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=message)
        )
    config = get_config()
    _configure_logging(config.log_level, ls.log_file or config.log_file)


def _report_warm_up(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        # Not fatal: the first model call imports again and reports the error properly.
        logger.warning("warm-up failed: %s", type(done.exception()).__name__)


def _register_lifecycle(ls: AurelisLanguageServer) -> None:
    @ls.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        # Kept light on purpose: the editor waits for this answer (see live_config).
        ls.set_roots(_workspace_folders(params))
        ls.pending_options = params.initialization_options

    @ls.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        _load_config(ls)
        if ls.pending_options is not None:
            ls.apply_settings(ls.pending_options, publish=False)
        ls.status.publish()
        warming = asyncio.get_running_loop().run_in_executor(None, warm_up)
        warming.add_done_callback(_report_warm_up)
        await _pull_configuration(ls)

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        section = settings.get(SECTION) if isinstance(settings, dict) else None
        if section is not None:
            ls.apply_settings(section)
        else:
            await _pull_configuration(ls)

    @ls.feature(types.SHUTDOWN)
    async def shutdown(params: None) -> None:
        await close_orchestrator()

    @ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        folders = [to_fs_path(folder.uri) for folder in ls.workspace.folders.values()]
        ls.set_roots([folder for folder in folders if folder])


def _register_documents(ls: AurelisLanguageServer) -> None:
    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        ls.recent.touch(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        ls.recent.touch(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        ls.sources.project.invalidate()

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri)


def create_server() -> AurelisLanguageServer:
    """A server with every feature registered."""
    ls = AurelisLanguageServer()
    _register_lifecycle(ls)
    _register_documents(ls)
    inline_completion.register(ls)
    code_actions.register(ls)
    commands.register(ls)
    return ls


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="aurelis serve", description="Run the Aurelis language server."
    )
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    parser.add_argument("--log-file", type=Path, help="write logs here instead of stderr")
    # vscode-languageclient appends --stdio for stdio transports; stdio is the default.
    parser.add_argument("--stdio", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _tcp_address(value: str) -> tuple[str, int]:
    """`HOST:PORT`, or `:PORT` for 127.0.0.1."""
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise SystemExit(f"aurelis serve: --tcp expects HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _configure_logging(level: str, log_file: Path | None) -> None:
    configure_logging(level, log_file)
    # pygls logs request params on errors: route its warnings through the redacting handler.
    pygls_logger = logging.getLogger("pygls")
    for handler in list(pygls_logger.handlers):
        if handler.get_name() == "aurelis":
            pygls_logger.removeHandler(handler)
    for handler in logging.getLogger("aurelis").handlers:
        pygls_logger.addHandler(handler)
    pygls_logger.setLevel(logging.WARNING)
    pygls_logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m aurelis.lsp` and `aurelis serve`; returns the exit code."""
    args = _parse_args(argv)
    address = _tcp_address(args.tcp) if args.tcp else None
    # The environment alone until `initialized` loads the config (files may say more).
    level = os.environ.get("AURELIS_LOG_LEVEL", "INFO").upper()
    _configure_logging(level if level in logging.getLevelNamesMapping() else "INFO", args.log_file)
    ls = create_server()
    ls.log_file = args.log_file
    if address is not None:
        logger.info("Aurelis language server listening on %s:%s", *address)
        ls.start_tcp(*address)
    else:
        logger.info("Aurelis language server on stdio")
        ls.start_io()
    return 0
