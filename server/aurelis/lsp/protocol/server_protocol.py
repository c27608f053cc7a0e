"""The LSP protocol: every request answered, the lifecycle kept, cancels reaching commands.

On top of pygls's LanguageServerProtocol (pinned pygls>=2.1,<3; the private hooks
overridden here are named in each method):

- Messages arrive from `lsp.transport` already decoded (`handle_data`). A request whose
  params do not match its method gets InvalidParams naming the field; one the wire could
  not read (`reject_frame`) gets an error when its id is known. Malformed notifications are
  logged and dropped. pygls instead raised from deep inside its reader and never replied.
- A failing handler is answered with one readable sentence (see `rpc_errors`): no
  traceback in `data`, no Python internals; an unknown document is "not open".
- Lifecycle: requests after `shutdown` get InvalidRequest; `shutdown` cancels running work
  (each cancelled request is answered) before it replies; `exit` stops the reader with
  code 0 after `shutdown`, else 1, and nothing is written after it.
- `$/cancelRequest` also cancels executeCommand handler tasks: pygls runs a command as a
  separate task and would leave it (and its model call) running. Command handlers
  register their task under the request id (`cancellable_request`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Generator, Iterator
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeGuard

from lsprotocol import types
from lsprotocol.types import ResponseError, ResponseErrorMessage
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest, JsonRpcMethodNotFound
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    lsp_method,
)

from aurelis.core.secrets import redact
from aurelis.lsp.protocol.rpc_errors import (
    invalid_params_message,
    request_cancelled,
    response_error,
)

__all__ = ["AurelisProtocol"]

logger = logging.getLogger("aurelis.lsp.protocol.server_protocol")
_JSONRPC = "2.0"
#: Enters the context a message about document `uri` is handled in.
DocumentScope = Callable[[str], contextlib.AbstractContextManager[None]]
#: How long one last write may take once the connection has ended.
_LAST_WRITE_SECONDS = 3.0


class AurelisProtocol(LanguageServerProtocol):
    """LanguageServerProtocol that answers every request (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._command_tasks: dict[Any, asyncio.Task[Any]] = {}
        self._methods: dict[Any, str] = {}
        self._closed = False
        #: 0 after shutdown + exit, 1 for exit alone; None until `exit`.
        self.exit_code: int | None = None
        self.exit_requested = asyncio.Event()
        #: Written when the connection ends however it ends (shutdown, `exit`, or the
        #: editor simply going away): what must not be lost with the process.
        self._last_writes: list[Callable[[], Awaitable[None]]] = []
        #: The context a message about a document is handled in (the settings of the
        #: workspace folder holding it); set by the server.
        self.document_scope: DocumentScope = _no_scope

    # --- cancellation of command tasks ----------------------------------------------------
    @contextlib.contextmanager
    def cancellable_request(self) -> Iterator[None]:
        """Within this block, a `$/cancelRequest` for the current request cancels this task."""
        msg_id, task = self.msg_id, asyncio.current_task()
        if msg_id is None or task is None:
            yield
            return
        self._command_tasks[msg_id] = task
        try:
            yield
        finally:
            self._command_tasks.pop(msg_id, None)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        # Overrides pygls' private hook; see the module docstring.
        if not _valid_id(msg_id):
            logger.warning("dropped $/cancelRequest: the id must be an integer or a string")
            return
        task = self._command_tasks.pop(msg_id, None)
        if msg_id in self._request_futures:
            super()._handle_cancel_notification(msg_id)
        elif task is None:
            # The request has already been answered: an ordinary race, not a warning.
            logger.debug("$/cancelRequest for %.80r, which is not running", msg_id)
        if task is not None:
            task.cancel()

    # --- receiving ---------------------------------------------------------------------------
    def handle_data(self, data: Any) -> None:
        """One decoded message from the wire: check it, structure it, handle it."""
        problem = _envelope_problem(data)
        if problem is not None:
            self.reject_frame(data if isinstance(data, dict) else {}, -32600, problem)
            return
        method, is_request = data.get("method"), "id" in data and "method" in data
        if method == types.EXIT and "id" not in data:
            self._exit()  # whatever its params: a client that says exit means it
            return
        if is_request and self._refuse_request(data["id"], method):
            return
        try:
            message = self._structure(data)
        except Exception as error:  # noqa: BLE001 - any structuring failure is bad input
            self._structure_failed(data, error)
            return
        if is_request and not hasattr(message, "id"):
            reply = f"{method} is a notification: it takes no id and gets no reply"
            self._send_error(
                data["id"], ResponseError(code=JsonRpcInvalidRequest.CODE, message=reply)
            )
            return
        if is_request:
            self._methods[data["id"]] = method
        try:
            # Tasks started while handling it copy this context: the scope lasts for them.
            with self._scope_of(message):
                self.handle_message(message)
        except Exception as error:
            logger.error("handling %s failed", method or "a reply", exc_info=error)
            if is_request and data["id"] in self._methods:
                self._send_error(data["id"], response_error(self._methods.pop(data["id"]), error))

    def _scope_of(self, message: Any) -> contextlib.AbstractContextManager[None]:
        uri = _document_uri(getattr(message, "params", None))
        return self.document_scope(uri) if uri is not None else contextlib.nullcontext()

    def reject_frame(self, fields: dict[str, Any], code: int, reason: str) -> None:
        """A message that cannot be handled: answer it if it is a request with an id."""
        msg_id, method = fields.get("id"), fields.get("method")
        if _valid_id(msg_id) and isinstance(method, str):
            logger.warning("answered request %r (%s) with an error: %s", msg_id, method, reason)
            self._send_error(msg_id, ResponseError(code=code, message=redact(reason)))
        else:
            logger.warning("dropped a message that could not be handled: %s", reason)

    def _refuse_request(self, msg_id: Any, method: str) -> bool:
        if self._shutdown:
            message = f"{method} after shutdown: the server only accepts exit now"
            self._send_error(
                msg_id, ResponseError(code=JsonRpcInvalidRequest.CODE, message=message)
            )
            return True
        if method not in self.fm.builtin_features and method not in self.fm.features:
            message = f"unknown method {method}"
            self._send_error(
                msg_id, ResponseError(code=JsonRpcMethodNotFound.CODE, message=message)
            )
            return True
        return False

    def _structure(self, data: dict[str, Any]) -> Any:
        # pygls's structure_message, without its traceback logging and raising.
        method = data.get("method")
        if "id" not in data:
            target = self.get_message_type(method) or JsonRPCNotification
        elif "error" in data:
            target = ResponseErrorMessage
        elif method is not None:
            target = self.get_message_type(method) or JsonRPCRequestMessage
        else:
            target = self._result_types.pop(data["id"], None) or JsonRPCResponseMessage
        return self._converter.structure(data, target)

    def _structure_failed(self, data: dict[str, Any], error: Exception) -> None:
        method, msg_id = data.get("method"), data.get("id")
        if "id" in data and method is not None:
            message = invalid_params_message(method, error)
            logger.warning("request %r: %s", msg_id, message)
            self._send_error(msg_id, ResponseError(code=JsonRpcInvalidParams.CODE, message=message))
        elif method is not None:
            logger.warning("dropped notification: %s", invalid_params_message(method, error))
        elif _valid_id(msg_id):  # a reply to one of our requests, not of the expected shape
            logger.warning("the client's reply to request %r is malformed", msg_id)
            reply = ResponseError(code=JsonRpcInvalidParams.CODE, message="malformed reply")
            self._handle_response(msg_id, None, reply)

    # --- answering ---------------------------------------------------------------------------
    def _send_handler_result(self, future: Future[Any], *, msg_id: Any) -> None:
        # Overrides pygls' private callback: readable errors, no tracebacks (rpc_errors).
        self._request_futures.pop(msg_id, None)
        method = self._methods.pop(msg_id, "the request")
        if future.cancelled():
            self._send_error(msg_id, request_cancelled(msg_id))
            return
        error = future.exception()
        if error is None:
            self._send_response(msg_id, result=future.result())
            return
        reply = response_error(method, error)
        if reply.code == -32603:
            logger.error("%s failed", method, exc_info=error)
        self._send_error(msg_id, reply)

    def _send_error(self, msg_id: Any, error: ResponseError) -> None:
        self._send_response(msg_id, error=error)

    def _handle_notification(self, method_name: str, params: Any) -> None:
        # Overrides pygls' private hook: failures are logged, never shown as internals.
        if method_name == types.CANCEL_REQUEST:
            self._handle_cancel_notification(params.id)
            return
        try:
            handler = self._get_handler(method_name)
        except JsonRpcMethodNotFound:
            logger.debug("ignored notification for unknown method %r", method_name)
            return
        self._execute_handler(
            msg_id=f"notification:{method_name}",
            handler=handler,
            args=(params,),
            callback=partial(_log_notification_failure, method_name),
        )

    def _send_data(self, data: Any) -> None:
        # Overrides pygls: nothing after exit or a lost connection, and a reply that
        # cannot be serialised becomes an error reply instead of silence.
        if self._closed or not data:
            return
        if self.writer is None:
            logger.error("no connection to send a message on")
            return
        try:
            body = json.dumps(data, default=self._serialize_message).encode(self.CHARSET)
        except (TypeError, ValueError, RecursionError):
            logger.error("cannot serialise a message for the client", exc_info=True)
            self._send_unserialisable(data)
            return
        if self._include_headers:
            header = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
            body = header + body
        try:
            written = self.writer.write(body)
            if inspect.isawaitable(written):
                asyncio.ensure_future(written)
        except (OSError, ValueError) as error:  # broken pipe, closed stream
            self._connection_lost(error)

    def _send_unserialisable(self, data: Any) -> None:
        msg_id = getattr(data, "id", None)
        if _valid_id(msg_id) and not hasattr(data, "method") and not hasattr(data, "error"):
            method = self._methods.pop(msg_id, "the request")
            self._send_error(msg_id, response_error(method, RuntimeError()))

    def _connection_lost(self, error: BaseException) -> None:
        if not self._closed:
            logger.warning("the connection to the client is closed (%s); stopping", error)
        self._closed = True
        self.exit_requested.set()

    # --- lifecycle -------------------------------------------------------------------------
    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        # Replaces pygls's: it cancelled while iterating the dict the cancel callbacks
        # change ("dictionary changed size during iteration") and never replied.
        self._shutdown = True
        self._cancel_work(keep=self.msg_id)
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        return None

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        # Replaces pygls's, whose sys.exit() was swallowed by its own loop (always 0).
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        self._exit()

    def _exit(self) -> None:
        if self.exit_code is None:
            self.exit_code = 0 if self._shutdown else 1
        self._cancel_work(keep=None)
        self._closed = True
        self.exit_requested.set()

    def _cancel_work(self, keep: Any) -> None:
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != keep and not future.done():
                future.cancel()
        for task in list(self._command_tasks.values()):
            task.cancel()

    def on_connection_end(self, write: Callable[[], Awaitable[None]]) -> None:
        """Run `write` once the connection ends, even when the editor exits without
        waiting for our `shutdown` reply (Neovim closes the pipes at once)."""
        self._last_writes.append(write)

    async def stop_work(self) -> None:
        """After the reader stops: cancel what still runs and let it unwind quietly, then
        do the last writes (bounded: a stuck disk must not hold the process)."""
        self._cancel_work(keep=None)
        self._closed = True
        for _ in range(3):  # cancellation needs a few loop turns to reach nested tasks
            await asyncio.sleep(0)
        writes, self._last_writes = self._last_writes, []
        for write in writes:
            try:
                await asyncio.wait_for(write(), timeout=_LAST_WRITE_SECONDS)
            except Exception:
                logger.warning("a last write as the connection ended failed", exc_info=True)


def _no_scope(uri: str) -> contextlib.AbstractContextManager[None]:
    return contextlib.nullcontext()


def _document_uri(params: Any) -> str | None:
    """The document a message is about: `textDocument.uri`, or a command's `{uri}`."""
    uri = getattr(getattr(params, "text_document", None), "uri", None)
    if uri is None:
        arguments = getattr(params, "arguments", None)
        first = arguments[0] if isinstance(arguments, list | tuple) and arguments else None
        uri = first.get("uri") if isinstance(first, dict) else None
    return uri if isinstance(uri, str) else None


def _envelope_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"a message must be a JSON object, not {_json_type(data)}"
    if data.get("jsonrpc") != _JSONRPC:
        return 'a message must have "jsonrpc": "2.0"'
    if "id" in data and not _valid_id(data["id"]):
        return "a message id must be an integer or a string"
    if "method" in data and not isinstance(data["method"], str):
        return "a message method must be a string"
    if "method" not in data and "id" not in data:
        return "a message needs a method or an id"
    return None


def _valid_id(value: Any) -> TypeGuard[str | int]:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _log_notification_failure(method: str, future: Future[Any]) -> None:
    if future.cancelled() or (error := future.exception()) is None:
        return
    if isinstance(error, KeyError) and error.args and isinstance(error.args[0], str):
        logger.warning("%s for %s, which is not open: ignored", method, error.args[0])
        return
    logger.error("%s failed", method, exc_info=error)
