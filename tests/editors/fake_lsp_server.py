"""A scripted LSP server for the Neovim trust-command tests (stdio, stdlib only).

The real server's `aurelis.trustProject` is built separately (TRUST_CONTRACT.md); this one
answers it exactly as the contract says so the plugin's side can be tested now. It appends
every message it receives, plus how it was started (argv, cwd, whether the working
directory was kept off sys.path), as JSON lines to the file named by FAKE_LSP_LOG.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO
from urllib.parse import unquote, urlparse

TRUST_COMMANDS = ["aurelis.trustProject", "aurelis.untrustProject"]
RESTRICTED = "this workspace is in restricted mode; trust it in VS Code first"


def record(entry: dict[str, Any]) -> None:
    with open(os.environ["FAKE_LSP_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")


def read_message(stream: BinaryIO) -> dict[str, Any] | None:
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    if length is None:
        return None
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def send(stream: BinaryIO, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode("utf-8")
    stream.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
    stream.flush()


def folder_paths(arguments: list[Any] | None) -> list[str]:
    return [unquote(urlparse(arg["uri"]).path) for arg in arguments or []]


def execute_command(params: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """(result, error) for workspace/executeCommand."""
    paths = folder_paths(params.get("arguments"))
    if any(os.path.basename(path) == "restricted" for path in paths):
        return None, {"code": -32603, "message": RESTRICTED}
    if params["command"] == "aurelis.trustProject":
        return {"trusted": paths}, None
    if params["command"] == "aurelis.untrustProject":
        return {"untrusted": paths}, None
    return None, {"code": -32601, "message": f"unknown command {params['command']}"}


def answer(method: str, params: Any) -> tuple[Any, dict[str, Any] | None]:
    if method == "initialize":
        capabilities = {
            "textDocumentSync": 1,
            "executeCommandProvider": {"commands": TRUST_COMMANDS},
        }
        return {"capabilities": capabilities, "serverInfo": {"name": "fake-aurelis"}}, None
    if method == "workspace/executeCommand":
        return execute_command(params)
    return None, None


def main() -> None:
    record(
        {
            "kind": "start",
            "argv": sys.orig_argv,
            "cwd": os.getcwd(),
            "safe_path": bool(sys.flags.safe_path),
        }
    )
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (message := read_message(stdin)) is not None:
        method = message.get("method", "")
        record({"kind": "request" if "id" in message else "notification", **message})
        if method == "exit":
            return
        if "id" in message and method:
            result, error = answer(method, message.get("params"))
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": message["id"]}
            reply.update({"error": error} if error else {"result": result})
            send(stdout, reply)


if __name__ == "__main__":
    main()
