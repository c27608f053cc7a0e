"""Fuzzing the LSP wire of the real server: random and mutated frames and params.

Seeded (AURELIS_FUZZ_SEED, default 1137) and bounded in count (AURELIS_FUZZ_INPUTS, default
600) and time (AURELIS_FUZZ_SECONDS, default 30). Every well-formed request must get a
response, and afterwards the server must still answer normal requests (a code action
list and a model-backed command). The number of inputs tried is printed (`-s` shows it).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from typing import Any

from tests.lsp.wire_client import RawServer, frame, notification, request

from aurelis.testing import ModelServer, Reply

SEED = int(os.environ.get("AURELIS_FUZZ_SEED", "1137"))
MAX_INPUTS = int(os.environ.get("AURELIS_FUZZ_INPUTS", "600"))
MAX_SECONDS = float(os.environ.get("AURELIS_FUZZ_SECONDS", "30"))
URI = "file:///tmp/fuzz/doc.py"
TEXT = "import os\n\n\ndef add(a, b):\n    return a + b\n"
_POS = {"line": 3, "character": 4}
_RANGE = {"start": {"line": 0, "character": 0}, "end": {"line": 4, "character": 0}}
COMMANDS = ["aurelis.explain", "aurelis.analyze", "aurelis.refactor", "aurelis.nothing"]
# Valid params for each method; mutations start from these.
TEMPLATES: dict[str, Any] = {
    "textDocument/inlineCompletion": {
        "textDocument": {"uri": URI},
        "position": _POS,
        "context": {"triggerKind": 1},
    },
    "textDocument/codeAction": {
        "textDocument": {"uri": URI},
        "range": _RANGE,
        "context": {"diagnostics": [{"range": _RANGE, "message": "unused import"}]},
    },
    "codeAction/resolve": {"title": "Explain", "data": {"uri": URI, "kind": "explain"}},
    "workspace/executeCommand": {
        "command": "aurelis.explain",
        "arguments": [{"uri": URI, "position": _POS}],
    },
    "textDocument/didChange": {
        "textDocument": {"uri": URI, "version": 2},
        "contentChanges": [{"range": _RANGE, "text": "x = 1\n"}],
    },
    "textDocument/didSave": {"textDocument": {"uri": URI}},
    "$/cancelRequest": {"id": 1},
    "workspace/didChangeConfiguration": {"settings": {"aurelis": {"inline": {"enabled": True}}}},
    "$/setTrace": {"value": "off"},
    "textDocument/hover": {"textDocument": {"uri": URI}, "position": _POS},
    "initialize": {"processId": None, "rootUri": None, "capabilities": {}},
}
NOTIFICATIONS = {
    "textDocument/didChange",
    "textDocument/didSave",
    "$/cancelRequest",
    "workspace/didChangeConfiguration",
    "$/setTrace",
}


class Fuzzer:
    """Produces one input at a time: (bytes to send, id of a request that must be answered)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.counter = 0

    def value(self, depth: int = 0) -> Any:
        r = self.random
        choices: list[Any] = [
            None,
            True,
            -1,
            0,
            2**31,
            -(2**40),
            1.5,
            "",
            "a",
            "file:///etc/passwd",
            "\u0000\ud7ff\U0001f600",
            "x" * r.randint(0, 3000),
        ]
        if depth < 3:
            choices += [[self.value(depth + 1)], {"k": self.value(depth + 1)}, {}, []]
        if r.random() < 0.05:
            nested: Any = 1
            for _ in range(r.randint(10, 400)):
                nested = [nested] if r.random() < 0.5 else {"n": nested}
            choices.append(nested)
        return r.choice(choices)

    def mutate(self, data: Any, depth: int = 0) -> Any:
        r = self.random
        if depth > 0 and r.random() < 0.3:
            return self.value()
        if isinstance(data, dict) and data:
            copy = dict(data)
            key = r.choice(list(copy))
            action = r.random()
            if action < 0.2:
                del copy[key]
            elif action < 0.3:
                copy[r.choice(["extra", "id", "jsonrpc", key.upper()])] = self.value()
            else:
                copy[key] = self.mutate(copy[key], depth + 1)
            return copy
        if isinstance(data, list) and data:
            copy = list(data)
            index = r.randrange(len(copy))
            copy[index] = self.mutate(copy[index], depth + 1)
            return copy
        return self.value()

    def message(self) -> tuple[dict[str, Any], Any]:
        r = self.random
        method = r.choice([*TEMPLATES, "aurelis/unknown", "$/unknown"])
        params = json.loads(json.dumps(TEMPLATES.get(method, {})))
        if method == "workspace/executeCommand":
            params["command"] = r.choice(COMMANDS)
        if r.random() < 0.8:
            params = self.mutate(params)
        self.counter += 1
        if method in NOTIFICATIONS and r.random() < 0.8:
            return notification(method, params), None
        msg_id: Any = r.choice([self.counter, f"fuzz-{self.counter}"])
        message = request(msg_id, method, params)
        if r.random() < 0.1:
            message = self.mutate(message)
        return message, msg_id if _well_formed_request(message, msg_id) else None

    def next_input(self) -> tuple[bytes, Any]:
        r = self.random
        message, expected = self.message()
        body = json.dumps(message).encode()
        kind = r.random()
        if kind < 0.55:
            return frame(body), expected
        if kind < 0.65:  # a wrong length
            length = r.choice(
                [0, 1, len(body) - 1, len(body) + 7, 10**12, -5, "abc", "", " 12", "0x10"]
            )
            return b"Content-Length: %s\r\n\r\n" % str(length).encode() + body, None
        if kind < 0.72:  # cut short
            whole = frame(body)
            return whole[: r.randrange(1, len(whole))], None
        if kind < 0.79:  # random bytes
            return r.randbytes(r.randint(1, 400)), None
        if kind < 0.86:  # header noise around a good frame
            noise = r.choice(
                [
                    b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
                    b"content-length: 3\r\n",
                    b"X-Junk\r\n",
                    b"\r\n",
                    b":::\r\n",
                ]
            )
            return noise + frame(body), expected if noise in (b"\r\n",) else None
        if kind < 0.93:  # a body that is not one JSON object
            junk = r.choice(
                [b"5", b"[]", b"null", b'"s"', b"{", b"\xff\xfe", b"{}" * 3, b"[" * 5000]
            )
            return frame(junk), None
        flipped = bytearray(body)  # flipped bytes inside a well-framed body
        for _ in range(r.randint(1, 5)):
            flipped[r.randrange(len(flipped))] = r.randrange(256)
        return frame(bytes(flipped)), None


def _well_formed_request(message: Any, msg_id: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and message.get("id") == msg_id
        and isinstance(message.get("method"), str)
        and message["method"] not in ("shutdown", "exit")
    )


async def test_the_server_survives_fuzzed_frames_and_params(model: ModelServer) -> None:
    model.set_default("*", Reply(content="## fuzzed"))
    fuzzer = Fuzzer(SEED)
    server = await RawServer.start(model)
    expected: set[Any] = set()
    tried = 0
    try:
        await server.initialize()
        await server.open(URI, TEXT)
        started = time.monotonic()
        while tried < MAX_INPUTS and time.monotonic() - started < MAX_SECONDS:
            data, msg_id = fuzzer.next_input()
            await server.send(data)
            tried += 1
            if msg_id is not None:
                expected.add(msg_id)
        # A new, clean frame after whatever state the fuzz left the reader in.
        await server.open(URI, TEXT)
        actions = await server.answers_code_actions(URI, msg_id="after-fuzz")
        explained = await server.call(
            "after-fuzz-explain",
            "workspace/executeCommand",
            {"command": "aurelis.explain", "arguments": [{"uri": URI, "position": _POS}]},
        )
        unanswered = await _unanswered(server, expected)
    finally:
        await server.close()

    print(f"\nfuzz: seed {SEED}, {tried} inputs tried, {len(expected)} well-formed requests")
    assert tried >= min(MAX_INPUTS, 100)
    assert actions, "no code actions after the fuzz"
    assert explained.get("result") == {"markdown": "## fuzzed"}, explained
    assert not unanswered, f"requests never answered: {sorted(map(str, unanswered))[:20]}"


async def _unanswered(server: RawServer, expected: set[Any], within: float = 60) -> set[Any]:
    deadline = time.monotonic() + within
    while missing := expected - server.responded_ids():
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return missing
