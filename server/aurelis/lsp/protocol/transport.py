"""Running the language server over stdio or TCP with Aurelis's own frame reader.

Replaces pygls's `start_io`/`start_tcp` loops (pygls is pinned; see `lsp.wire` for what
its reader gets wrong). Frames go through `wire.FrameParser`; bodies are decoded here and
handed to the protocol, which answers requests whose frames were broken. The loop ends on
end of input or on `exit`; the exit code is the protocol's (0 after `shutdown`, else 1).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, BinaryIO

from pygls.exceptions import JsonRpcInvalidRequest, JsonRpcParseError
from pygls.io_ import StdoutWriter

from aurelis.lsp.protocol.json_scan import scan_fields
from aurelis.lsp.protocol.server_protocol import AurelisProtocol
from aurelis.lsp.protocol.wire import DroppedFrame, Event, Frame, FrameParser, Skipped

__all__ = ["ListenError", "decode_body", "serve_stdio", "serve_tcp"]

logger = logging.getLogger("aurelis.lsp.protocol.wire")
_CHUNK = 64 * 1024

ReadChunk = Callable[[], Awaitable[bytes]]


class ListenError(Exception):
    """The TCP address cannot be listened on (unresolvable host, port in use)."""


def decode_body(body: bytes) -> tuple[Any, str | None]:
    """(JSON value, None), or (None, why the body is not JSON)."""
    try:
        return json.loads(body), None
    except RecursionError:
        return None, "the message is nested too deeply to read"
    except UnicodeDecodeError:
        return None, "the message is not UTF-8"
    except json.JSONDecodeError as error:
        return None, f"the message is not valid JSON ({error.msg} at byte {error.pos})"
    except ValueError as error:  # e.g. an integer with more digits than Python allows
        return None, f"the message is not valid JSON ({error})"


class _Dispatcher:
    """Hands each event to the protocol; logs what is dropped, once per run of garbage."""

    def __init__(self, protocol: AurelisProtocol) -> None:
        self.protocol = protocol
        self._in_garbage = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, Skipped):
            level = logging.DEBUG if self._in_garbage else logging.WARNING
            logger.log(level, "skipped %d bytes: %s", event.count, event.reason)
            self._in_garbage = True
            return
        self._in_garbage = False
        if isinstance(event, DroppedFrame):
            self.protocol.reject_frame(event.fields, JsonRpcInvalidRequest.CODE, event.reason)
        else:
            self._frame(event)

    def _frame(self, frame: Frame) -> None:
        data, problem = decode_body(frame.body)
        if problem is not None:
            self.protocol.reject_frame(scan_fields(frame.body), JsonRpcParseError.CODE, problem)
        elif frame.problem is not None:
            fields = data if isinstance(data, dict) else {}
            self.protocol.reject_frame(fields, JsonRpcInvalidRequest.CODE, frame.problem)
        else:
            self.protocol.handle_data(data)


async def serve(read_chunk: ReadChunk, protocol: AurelisProtocol, max_bytes: int) -> None:
    """Read frames until end of input or `exit`."""
    parser = FrameParser(max_bytes)
    dispatch = _Dispatcher(protocol)
    exited = asyncio.ensure_future(protocol.exit_requested.wait())
    try:
        while not protocol.exit_requested.is_set():
            reading = asyncio.ensure_future(read_chunk())
            await asyncio.wait({reading, exited}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                break
            chunk = reading.result()
            if not chunk:
                break
            for event in parser.feed(chunk):
                try:
                    dispatch(event)
                except Exception:
                    logger.exception("a message could not be handled")
                if protocol.exit_requested.is_set():
                    break
    finally:
        exited.cancel()
        await protocol.stop_work()


class _ThreadedReader:
    """Reads a blocking stream on a daemon thread, one chunk per request.

    A daemon thread, not an executor: after `exit` the process must not wait for a read
    of stdin that may never return.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._read = _raw_reader(stream)
        self._wanted = threading.Semaphore(0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: asyncio.Future[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="aurelis-stdin", daemon=True)

    async def __call__(self) -> bytes:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._thread.start()
        self._waiting = self._loop.create_future()
        self._wanted.release()
        return await self._waiting

    def _run(self) -> None:
        data = b"x"
        while data:
            self._wanted.acquire()
            try:
                data = self._read(_CHUNK)
            except (OSError, ValueError) as error:
                logger.warning("reading the client's input failed: %s", error)
                data = b""
            try:
                assert self._loop is not None
                self._loop.call_soon_threadsafe(self._deliver, data)
            except RuntimeError:  # the loop is closed: the server has stopped
                return

    def _deliver(self, data: bytes) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(data)


def _raw_reader(stream: BinaryIO) -> Callable[[int], bytes]:
    # os.read on the descriptor: no BufferedReader lock for the abandoned thread to hold
    # at interpreter exit, and it returns what is there instead of waiting for a full chunk.
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return getattr(stream, "read1", stream.read)
    return lambda size: os.read(descriptor, size)


def serve_stdio(protocol: AurelisProtocol, max_bytes: int) -> None:
    """Serve the protocol on stdin/stdout until end of input or `exit`."""
    protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    try:
        _run(serve(_ThreadedReader(sys.stdin.buffer), protocol, max_bytes))
    except KeyboardInterrupt:
        pass


def _run(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run without waiting for the default executor at the end: a worker thread
    (a local model still loading) must not hold up `exit`."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
        loop.run_until_complete(_cancel_the_rest())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def _cancel_the_rest() -> None:
    current = asyncio.current_task()
    remaining = [task for task in asyncio.all_tasks() if task is not current]
    for task in remaining:
        task.cancel()
    if not remaining:
        return
    # Bounded: a task that ignores its cancellation must not hold the exit.
    done, _ = await asyncio.wait(remaining, timeout=5)
    for task in done:
        if not task.cancelled():
            task.exception()  # consumed: nothing to report once the server is stopping


def serve_tcp(protocol: AurelisProtocol, host: str, port: int, max_bytes: int) -> None:
    """Listen on host:port and serve the first client until it disconnects or exits."""
    _run(_serve_tcp(protocol, host, port, max_bytes))


async def _serve_tcp(protocol: AurelisProtocol, host: str, port: int, max_bytes: int) -> None:
    finished = asyncio.Event()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if finished.is_set():  # one client per server, as with stdio
            writer.close()
            return
        protocol.set_writer(writer)
        try:
            await serve(lambda: reader.read(_CHUNK), protocol, max_bytes)
        finally:
            finished.set()
            writer.close()

    try:
        server = await asyncio.start_server(connection, host, port)
    except (OSError, OverflowError) as error:
        raise ListenError(f"cannot listen on {host}:{port}: {_reason(error)}") from None
    addresses = ", ".join(str(sock.getsockname()[:2]) for sock in server.sockets)
    logger.info("listening on %s", addresses)
    async with server:
        await finished.wait()


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
