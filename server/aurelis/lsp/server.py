"""The Aurelis language server (pygls 2.x): wiring, lifecycle and the entry point.

    python -m aurelis.lsp [--tcp HOST:PORT] [--log-file PATH] [--max-message-bytes N]

The options are read once, by `serve_options`, into the `ServeOptions` that `main` takes.
stdio by default, read by `lsp.transport` (frames bounded by --max-message-bytes or
AURELIS_LSP_MAX_MESSAGE_BYTES, 64 MB by default; see `lsp.wire`). Exit code: 0 after
shutdown + exit, 1 for exit without shutdown, 2 for options that cannot work (a log file
that cannot be written, an address that cannot be listened on). Logs go to stderr or the
log file, never stdout (the protocol's).
Each feature lives in its own module and the state they share in `server_state`; this
one creates the server, registers the features and handles the document and
configuration lifecycle.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.uris import to_fs_path

from aurelis.core.log import configure_logging
from aurelis.lsp import trust_commands
from aurelis.lsp.actions import code_actions, commands
from aurelis.lsp.configuration import SECTION
from aurelis.lsp.inline import completion as inline_completion
from aurelis.lsp.live_config import get_config, load_or_defaults, warm_up
from aurelis.lsp.local_model import preload_in_background, stop_preloading
from aurelis.lsp.model_calls import close_orchestrator
from aurelis.lsp.protocol.transport import ListenError, serve_stdio, serve_tcp
from aurelis.lsp.protocol.wire import max_message_bytes
from aurelis.lsp.serve_options import (
    USAGE,
    ServeOptions,
    ServeOptionsError,
    parse_serve_options,
)
from aurelis.lsp.server_state import AurelisLanguageServer
from aurelis.lsp.trust_commands import is_settings_file
from aurelis.lsp.workspace.document_store import adopt_buffered_workspace
from aurelis.lsp.workspace.documents import snapshot
from aurelis.lsp.workspace.index_updates import IndexUpdates

__all__ = ["AurelisLanguageServer", "ServeOptions", "create_server", "main"]

logger = logging.getLogger("aurelis.lsp")
_CONFIGURATION_TIMEOUT = 10.0


def _workspace_folders(params: types.InitializeParams) -> list[str]:
    uris = [folder.uri for folder in params.workspace_folders or []]
    if not uris and params.root_uri:
        uris = [params.root_uri]
    paths = [to_fs_path(uri) for uri in uris if uri.startswith("file:")]
    if not paths and params.root_path:
        paths = [params.root_path]
    return [path for path in paths if path]


def _supports_configuration_pull(ls: AurelisLanguageServer) -> bool:
    return get_capability(ls.client_capabilities, "workspace.configuration", False)


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
        message = f"Aurelis: {problem}; the other settings apply until it is fixed."
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Error, message=message)
        )
    config = get_config()
    _configure_logging(config.log_level, ls.log_file or config.log_file)
    ls.config_loaded = True


async def _watch_files(ls: AurelisLanguageServer) -> None:
    """Ask the client to report file changes (the index follows edits made outside it)."""
    supported = get_capability(
        ls.client_capabilities, "workspace.did_change_watched_files.dynamic_registration", False
    )
    if not supported:
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
    )
    registration = types.Registration(
        id="aurelis-index-watch",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=options,
    )
    try:
        await asyncio.wait_for(
            ls.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            ),
            _CONFIGURATION_TIMEOUT,
        )
    except Exception as error:  # noqa: BLE001 - saves still keep the index current
        logger.warning("could not watch files: %s", type(error).__name__)


def _report_warm_up(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        # Not fatal: the first model call imports again and reports the error properly.
        logger.warning("warm-up failed: %s", type(done.exception()).__name__)


def _register_lifecycle(
    ls: AurelisLanguageServer, inline: inline_completion.InlineCompletions
) -> None:
    @ls.feature(types.INITIALIZE)
    def initialize(params: types.InitializeParams) -> None:
        # Kept light on purpose: the editor waits for this answer (see live_config).
        adopt_buffered_workspace(ls.protocol)
        ls.trust.read_options(params.initialization_options)
        ls.set_roots(_workspace_folders(params))
        ls.pending_options = params.initialization_options

    @ls.feature(types.INITIALIZED)
    async def initialized(params: types.InitializedParams) -> None:
        _load_config(ls)
        if ls.pending_options is not None:
            ls.apply_settings(ls.pending_options, publish=False)
        ls.start_indexing()
        ls.announce_trust()
        warming = asyncio.get_running_loop().run_in_executor(None, warm_up)
        warming.add_done_callback(_report_warm_up)
        preload_in_background(warming, ls.status.local_model_changed)
        await _watch_files(ls)
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
        stop_preloading()  # no load may start once the models are closed
        # First what must be written before an editor gives up waiting for us (suggestion
        # outcomes); stopping the index thread can take a moment.
        await inline.shutdown()  # no speculative call may outlive the models it uses
        await ls.semantic.stop()
        await asyncio.to_thread(ls.indexes.stop)
        await close_orchestrator()

    @ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_folders(params: types.DidChangeWorkspaceFoldersParams) -> None:
        folders = [to_fs_path(folder.uri) for folder in ls.workspace.folders.values()]
        ls.set_roots([folder for folder in folders if folder])
        if ls.config_loaded:
            ls.reload_settings()  # each root's project settings, trusted or not
            ls.start_indexing()


def _register_documents(
    ls: AurelisLanguageServer, inline: inline_completion.InlineCompletions
) -> None:
    index_updates = IndexUpdates(lambda: ls.indexes, lambda uri: snapshot(ls.workspace, uri))

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        ls.recent.touch(params.text_document.uri)
        ls.recent_edits.opened(params.text_document.uri)
        index_updates.opened(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        ls.recent.touch(params.text_document.uri)
        line = _changed_line(params.content_changes)
        if line is not None:
            ls.recent_edits.edited(params.text_document.uri, line)
        index_updates.edited(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        ls.sources.project.invalidate()
        index_updates.saved(params.text_document.uri)
        if ls.config_loaded and is_settings_file(params.text_document.uri):
            ls.reload_settings()  # an edited file is untrusted until trusted again

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(params: types.DidChangeWatchedFilesParams) -> None:
        index_updates.disk_changed(params.changes)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        index_updates.closed(params.text_document.uri)
        ls.forget(params.text_document.uri)
        inline.forget(params.text_document.uri)


def _changed_line(changes: Sequence[types.TextDocumentContentChangeEvent]) -> int | None:
    """The line of the last ranged change (a whole-text change says nothing of where)."""
    for change in reversed(changes):
        if isinstance(change, types.TextDocumentContentChangePartial):
            return change.range.start.line
    return None


def create_server() -> AurelisLanguageServer:
    """A server with every feature registered."""
    ls = AurelisLanguageServer()
    inline = inline_completion.register(ls)
    ls.protocol.on_connection_end(inline.outcomes.close)
    _register_lifecycle(ls, inline)
    _register_documents(ls, inline)
    code_actions.register(ls)
    commands.register(ls)
    trust_commands.register(ls)
    return ls


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


def _check_log_file(path: Path | None) -> None:
    """An explicit --log-file must be writable (the setting alone falls back to stderr)."""
    if path is None:
        return
    if path.is_dir() or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot write the log file {path}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent  # the directories in between are created when logging starts
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write the log file {path}: {parent} is not a writable directory")


def _usage_error(message: str) -> int:
    print(f"aurelis serve: error: {message}", file=sys.stderr, flush=True)
    return 2


def main(options: ServeOptions | None = None) -> int:
    """Entry point of `python -m aurelis.lsp` and `aurelis serve`; returns the exit code.

    Without `options` they are read from the command line (`python -m aurelis.lsp`).
    """
    if options is None:
        read = _command_line_options(sys.argv[1:])
        if isinstance(read, int):
            return read
        options = read
    try:
        max_bytes = max_message_bytes(options.max_message_bytes)
        _check_log_file(options.log_file)
    except ValueError as error:
        return _usage_error(str(error))
    # The environment alone until `initialized` loads the config (files may say more).
    level = os.environ.get("AURELIS_LOG_LEVEL", "INFO").upper()
    _configure_logging(
        level if level in logging.getLevelNamesMapping() else "INFO", options.log_file
    )
    ls = create_server()
    ls.log_file = options.log_file
    try:
        if options.tcp is not None:
            logger.info("Aurelis language server listening on %s:%s", *options.tcp)
            serve_tcp(ls.protocol, *options.tcp, max_bytes)
        else:
            logger.info("Aurelis language server on stdio")
            serve_stdio(ls.protocol, max_bytes)
    except ListenError as error:
        return _usage_error(str(error))
    if ls.protocol.exit_code is not None:
        _exit_now(ls.protocol.exit_code)
    return 0


def _command_line_options(args: list[str]) -> ServeOptions | int:
    """The options in `args`, or the exit code after printing help or a usage error."""
    if "-h" in args or "--help" in args:
        print(USAGE, file=sys.stderr, flush=True)  # stderr: stdout is the protocol's
        return 0
    try:
        return parse_serve_options(args)
    except ServeOptionsError as error:
        return _usage_error(f"{error}\n{USAGE}")


def _exit_now(code: int) -> None:
    """After `exit`, leave at once and quietly: not waiting for worker threads (a local
    model still loading or generating) nor running their finalizers at interpreter exit,
    which print tracebacks once the modules they need are gone."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
