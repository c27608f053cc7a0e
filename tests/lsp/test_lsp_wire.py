"""The LSP wire: broken frames get an answer when they can, never kill the server or leave
it deaf. End to end against the real server process; the parser's edge cases below."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from tests.lsp.wire_client import RawServer, frame, notification, open_session, request

from aurelis.lsp.protocol.wire import DroppedFrame, Frame, FrameParser, Skipped
from aurelis.testing import ModelServer

URI = "file:///tmp/wire/doc.py"
TEXT = "def add(a, b):\n    return a + b\n"


@pytest.fixture
async def server(model: ModelServer) -> AsyncIterator[RawServer]:
    async with open_session(model, URI, TEXT) as raw:
        yield raw


def _body(msg_id: int) -> bytes:
    return json.dumps(request(msg_id, "textDocument/codeAction", {"bad": True})).encode()


async def test_a_trillion_byte_length_is_answered_and_the_server_lives_on(
    server: RawServer,
) -> None:
    await server.send(b"Content-Length: 1000000000000\r\n\r\n" + _body(7))

    reply = await server.response(7)

    assert reply["error"]["code"] == -32600
    assert "1000000000000 bytes; the limit is 67108864" in reply["error"]["message"]
    assert await server.answers_code_actions(URI)


@pytest.mark.parametrize(
    ("header", "complaint"),
    [
        (b"Content-Length: abc\r\n\r\n", "invalid Content-Length 'abc'"),
        (b"Content-Length: -12\r\n\r\n", "invalid Content-Length '-12'"),
        (b"Content-Length: 12345678901234567890123\r\n\r\n", "invalid Content-Length"),
        (b"Content-Length: 5000\r\n\r\n", "says 5000 bytes; the message is"),
    ],
)
async def test_a_bad_length_header_is_answered_when_the_id_shows(
    server: RawServer, header: bytes, complaint: str
) -> None:
    # The next frame follows at once: the server must find it, not wait for 5000 bytes.
    await server.send(header + _body(8) + frame(request(9, "shutdown", None)))

    reply = await server.response(8)

    assert reply["error"]["code"] == -32600
    assert complaint in reply["error"]["message"]
    assert (await server.response(9))["result"] is None


@pytest.mark.parametrize(
    "garbage",
    [
        b"Content-Length: 10\r\n\r\n" + _body(10),  # too short: the rest is garbage
        b"hello world\r\n\r\n\x00\xff\xfe garbage\r\n",
        b"\x00" * 5000,  # a "header line" with no end
        b"Content-Type: text/plain\r\n\r\n{}",  # no length at all
        b"Content-Length: 0\r\n\r\n",
        b"Content-Length: 6\r\n\r\n\xff\xfe\xfd{}]",  # not UTF-8
        b"Content-Length: 3\r\n\r\n[1]",  # not an object
        b"Content-Le",  # a header cut off, glued to the next one
    ],
)
async def test_garbage_between_frames_is_skipped(server: RawServer, garbage: bytes) -> None:
    await server.send(garbage)

    assert await server.answers_code_actions(URI)


async def test_a_request_cut_short_mid_string_is_found_again(server: RawServer) -> None:
    # The declared length runs past the real end; the body stops inside a string.
    cut = b'{"jsonrpc": "2.0", "id": 11, "method": "textDocument/hover", "params": {"a": "x'
    await server.send(b"Content-Length: 900\r\n\r\n" + cut)

    assert await server.answers_code_actions(URI)


async def test_an_unparsable_request_with_a_visible_id_is_answered(server: RawServer) -> None:
    body = b'{"jsonrpc": "2.0", "id": 12, "method": "textDocument/codeAction", "params": {,}}'
    await server.send(frame(body))

    reply = await server.response(12)

    assert reply["error"]["code"] == -32700
    assert "not valid JSON" in reply["error"]["message"]
    assert "data" not in reply["error"]


async def test_arguments_nested_past_the_parser_limit_are_answered(server: RawServer) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    body = (
        '{"jsonrpc": "2.0", "id": 13, "method": "workspace/executeCommand", '
        f'"params": {{"command": "aurelis.explain", "arguments": {deep}}}}}'
    ).encode()
    await server.send(frame(body))

    reply = await server.response(13)

    assert reply["error"]["code"] == -32700
    assert "nested too deeply" in reply["error"]["message"]
    assert await server.answers_code_actions(URI)


async def test_a_malformed_notification_is_dropped_and_logged(model: ModelServer) -> None:
    raw = await RawServer.start(model)
    try:
        await raw.initialize()
        await raw.send_message(notification("textDocument/didOpen", {"textDocument": 5}))
        await raw.send_message(notification("textDocument/didChange", None))
        await raw.open(URI, TEXT)
        assert await raw.answers_code_actions(URI)
        await raw.call(99, "shutdown", None)
        await raw.send_message(notification("exit", None))
        code, stderr = await raw.stop()
    finally:
        await raw.close()

    assert code == 0
    log = stderr.decode()
    assert "dropped notification: invalid params for textDocument/didOpen" in log
    assert "Traceback" not in log
    assert not [m for m in raw.received if m.get("method") == "window/showMessage"]


async def test_the_limit_is_configurable_and_larger_documents_are_refused(
    model: ModelServer,
) -> None:
    raw = await RawServer.start(model, env={"AURELIS_LSP_MAX_MESSAGE_BYTES": "4096"})
    try:
        await raw.initialize()
        await raw.open("file:///tmp/wire/big.py", "x = 1\n" * 2000)  # 12 KB: dropped
        params = {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}}
        big = request(20, "textDocument/hover", {**params, "padding": "y" * 8000})
        await raw.send_message(big)
        reply = await raw.response(20)
        await raw.open(URI, TEXT)
        assert await raw.answers_code_actions(URI)
    finally:
        await raw.close()

    assert reply["error"]["code"] == -32600
    assert "the limit is 4096 bytes" in reply["error"]["message"]


async def test_a_bad_limit_setting_exits_2_with_the_reason(model: ModelServer) -> None:
    raw = await RawServer.start(model, "--max-message-bytes", "10")
    code, stderr = await raw.stop()

    assert code == 2
    assert "--max-message-bytes must be at least 1024 bytes" in stderr.decode()


# --- the parser on its own: split reads and edge cases -----------------------------------------
def _feed_bytewise(parser: FrameParser, data: bytes) -> list[object]:
    events: list[object] = []
    for index in range(len(data)):
        events += parser.feed(data[index : index + 1])
    return events


def test_frames_split_at_every_byte_come_out_whole() -> None:
    bodies = [_body(1), json.dumps({"text": "Content-Length: 5\\r\\n"}).encode()]
    stream = b"".join(frame(body) for body in bodies)

    events = _feed_bytewise(FrameParser(), stream)

    assert events == [Frame(bodies[0]), Frame(bodies[1])]


def test_a_document_quoting_a_header_is_not_cut() -> None:
    body = json.dumps({"text": "HTTP/1.1 200\r\nContent-Length: 12\r\n\r\nhello"}).encode()

    assert FrameParser().feed(frame(body)) == [Frame(body)]


def test_an_oversized_frame_is_skipped_in_bounded_memory() -> None:
    parser = FrameParser(max_body=1024)
    body = b'{"id": 3, "method": "m", "params": {"text": "' + b"a" * 200_000 + b'"}}'
    events = parser.feed(b"Content-Length: %d\r\n\r\n" % len(body))
    peak = 0
    for start in range(0, len(body), 4096):
        events += parser.feed(body[start : start + 4096])
        peak = max(peak, parser.buffered)
    events += parser.feed(frame(b"{}"))

    assert peak <= 4096 + 64
    assert events[0] == DroppedFrame(
        f"the message is {len(body)} bytes; the limit is 1024 bytes", {"id": 3, "method": "m"}
    )
    assert events[-1] == Frame(b"{}")


def test_garbage_is_reported_and_skipped() -> None:
    events = FrameParser().feed(b"junk\r\n" + frame(b"{}"))

    assert events == [Skipped(5, "bytes outside any frame"), Frame(b"{}")]


async def test_arguments_nested_just_within_the_parser_limit_are_answered(
    server: RawServer,
) -> None:
    deep = "[" * 950 + "]" * 950
    body = (
        '{"jsonrpc": "2.0", "id": 14, "method": "workspace/executeCommand", '
        f'"params": {{"command": "aurelis.explain", "arguments": [{{"uri": "{URI}"}}, {deep}]}}}}'
    ).encode()
    await server.send(frame(body))

    reply = await server.response(14)

    assert reply["error"]["code"] == -32602, reply
    assert "data" not in reply["error"]
    assert await server.answers_code_actions(URI)
