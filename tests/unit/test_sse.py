"""The SSE decoder: comments and unknown fields skipped, any line ending, any split."""

from __future__ import annotations

from aurelis.models.providers.sse import ServerSentEvent, SseDecoder

STREAM = (
    b": ping - 2026-11-30 14:00:00.000000+00:00\r\n\r\n"
    b'data: {"a": 1}\r\n\r\n'
    b"retry: 3000\n"
    b"x-vendor-field: whatever\n"
    b"event: update\n"
    b"id: 7\n"
    b"data: line one\n"
    b"data:line two\n\n"
    b":another comment\r"
    b"data: [DONE]\r\r"
)
EXPECTED = [
    ServerSentEvent('{"a": 1}'),
    ServerSentEvent("line one\nline two", "update", "7"),
    ServerSentEvent("[DONE]", "message", "7"),
]


def decode(pieces: list[bytes]) -> tuple[list[ServerSentEvent], int]:
    decoder = SseDecoder()
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events, decoder.comments


def test_comments_and_unknown_fields_are_skipped() -> None:
    events, comments = decode([STREAM])
    assert events == EXPECTED
    assert comments == 2


def test_any_split_of_the_bytes_gives_the_same_events() -> None:
    for size in (1, 2, 3, 5, 7, 64):
        pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
        assert decode(pieces) == (EXPECTED, 2), size


def test_a_crlf_split_between_pieces_is_one_line_break() -> None:
    events, _ = decode([b"data: x\r", b"\n\r", b"\n"])
    assert events == [ServerSentEvent("x")]


def test_an_event_without_a_closing_blank_line_is_not_dispatched() -> None:
    events, _ = decode([b"data: half"])
    assert events == []


def test_garbage_yields_no_events() -> None:
    events, _ = decode([b"<html>502 Bad Gateway</html>\n\nnot sse at all\n\n"])
    assert events == []


def test_text_split_inside_a_utf8_character_survives() -> None:
    data = "data: héllo ✓\n\n".encode()
    events, _ = decode([data[:8], data[8:9], data[9:]])
    assert events == [ServerSentEvent("héllo ✓")]
