"""A raw LSP client for wire tests: writes any bytes to the real server process and reads
its frames back, so malformed frames can be sent that no LSP library would produce."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.conftest import server_env
from tests.lsp.harness import SERVER_COMMAND, SERVER_DIR

from aurelis.testing import ModelServer

#: Generous: the machine is shared; these bound hangs, they do not measure speed.
TIMEOUT = 60.0


def frame(message: dict[str, Any] | bytes) -> bytes:
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(msg_id: Any, method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


class RawServer:
    """`python -m aurelis.lsp` driven byte by byte. A background task reads every frame
    the server writes (so its output never blocks) and answers the server's own requests
    the way a minimal editor would."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.received: list[dict[str, Any]] = []
        self._reader = asyncio.ensure_future(self._read_all())

    @classmethod
    async def start(
        cls, model: ModelServer, *args: str, env: dict[str, str] | None = None
    ) -> RawServer:
        extra = {"AURELIS_CACHE_ENABLED": "false", "PYTHONPATH": str(SERVER_DIR), **(env or {})}
        process = await asyncio.create_subprocess_exec(
            *SERVER_COMMAND,
            *args,
            env=server_env(model, **extra),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        return cls(process)

    async def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        await self.process.stdin.drain()

    async def send_message(self, message: dict[str, Any]) -> None:
        await self.send(frame(message))

    async def _read_all(self) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        while True:
            try:
                header = await stdout.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the server closed its output
            length = int(header.split(b":")[1].split(b"\r\n")[0])
            message = json.loads(await stdout.readexactly(length))
            self.received.append(message)
            if "method" in message and "id" in message:
                await self.send_message(_client_reply(message))

    async def wait_for(self, predicate: Any, within: float = TIMEOUT) -> dict[str, Any]:
        """The first received message for which `predicate(message)` holds."""
        deadline = time.monotonic() + within
        seen = 0
        while True:
            for message in self.received[seen:]:
                if predicate(message):
                    return message
            seen = len(self.received)
            if self._reader.done():
                raise EOFError("the server closed its output")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no such message within {within}s")
            await asyncio.sleep(0.02)

    async def response(self, msg_id: Any, within: float = TIMEOUT) -> dict[str, Any]:
        """The response to `msg_id`."""
        return await self.wait_for(lambda m: m.get("id") == msg_id and "method" not in m, within)

    async def call(
        self, msg_id: Any, method: str, params: Any, within: float = TIMEOUT
    ) -> dict[str, Any]:
        await self.send_message(request(msg_id, method, params))
        return await self.response(msg_id, within)

    async def initialize(self, root: Path | None = None) -> None:
        params = {
            "processId": None,
            "rootUri": root.as_uri() if root else None,
            "capabilities": {},
        }
        assert "result" in await self.call("init", "initialize", params)
        await self.send_message(notification("initialized", {}))

    async def open(self, uri: str, text: str) -> None:
        document = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        await self.send_message(notification("textDocument/didOpen", {"textDocument": document}))

    async def answers_code_actions(self, uri: str, msg_id: str = "alive") -> list[Any]:
        """A normal request still gets its normal answer."""
        whole = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
        params = {"textDocument": {"uri": uri}, "range": whole, "context": {"diagnostics": []}}
        reply = await self.call(msg_id, "textDocument/codeAction", params)
        assert "result" in reply, reply
        result: list[Any] = reply["result"]
        return result

    def responded_ids(self) -> set[Any]:
        return {m.get("id") for m in self.received if "method" not in m and "id" in m}

    async def stop(self) -> tuple[int, bytes]:
        """Close stdin (if still open) and return (exit code, stderr)."""
        assert self.process.stdin is not None and self.process.stderr is not None
        if not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            code = await asyncio.wait_for(self.process.wait(), TIMEOUT)
        except TimeoutError:
            self.process.kill()
            raise
        return code, await self.process.stderr.read()

    async def close(self) -> None:
        """Kill the process if it still runs, and reap it."""
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        self._reader.cancel()
        transport = getattr(self.process, "_transport", None)
        if transport is not None:
            transport.close()


def _client_reply(request_message: dict[str, Any]) -> dict[str, Any]:
    """What a minimal editor answers to the server's requests."""
    method, params = request_message["method"], request_message.get("params") or {}
    result: Any = None
    if method == "workspace/applyEdit":
        result = {"applied": False, "failureReason": "the test client applies nothing"}
    elif method == "workspace/configuration":
        result = [None for _ in params.get("items", [])]
    return {"jsonrpc": "2.0", "id": request_message["id"], "result": result}


@contextlib.asynccontextmanager
async def open_session(model: ModelServer, uri: str, text: str) -> AsyncIterator[RawServer]:
    """A started, initialized server with `text` open at `uri`; closed on exit."""
    raw = await RawServer.start(model)
    try:
        await raw.initialize()
        await raw.open(uri, text)
        yield raw
    finally:
        await raw.close()
