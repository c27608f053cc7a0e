"""The chat-completions wire format the loopback model server speaks.

Bodies, errors and SSE events as GitHub Models / Azure AI Foundry send them to the
``azure-ai-inference`` SDK, built from a `RecordedRequest` and the `Reply` scripted for it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from aurelis.testing.limits import RATE_LIMIT_PER_MINUTE, Refusal
from aurelis.testing.script import RecordedRequest, Reply, estimate_tokens, text_of

__all__ = [
    "CHAT_PATHS",
    "body_response",
    "completion_body",
    "drop_connection",
    "error_payload",
    "error_response",
    "json_errors",
    "json_response",
    "KEEPALIVE",
    "rate_limited_response",
    "read_json_object",
    "stream_events",
]

log = logging.getLogger(__name__)

# The SDK appends /chat/completions to its endpoint; the other two cover OpenAI-style base URLs
# and the GitHub Models "/models" prefix some clients use.
CHAT_PATHS = ("/chat/completions", "/v1/chat/completions", "/models/chat/completions")

# Codes and messages the real services send; {model} is filled in with the requested model.
_DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request body is not valid."),
    401: ("unauthorized", "Bad credentials"),
    403: ("no_access", "No access to model: {model}"),
    404: ("unknown_model", "Unknown model: {model}"),
    408: ("timeout", "The request timed out."),
    410: (
        "gone",
        "GitHub Models has been retired: the inference API was shut down on 2026-07-30 "
        "(see the GitHub Models retirement notice). Use another endpoint.",
    ),
    413: ("tokens_limit_reached", "Request body too large for {model} model."),
    422: ("unprocessable_entity", "The request could not be processed."),
    429: ("RateLimitReached", "Rate limit exceeded for {model}. Please wait before retrying."),
    500: ("InternalServerError", "The server had an error while processing your request."),
    502: ("BadGateway", "The upstream model server returned an invalid response."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The upstream model did not answer in time."),
}

_BODY_HEADERS = frozenset({"content-type", "content-length"})


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    return body_response(status, json.dumps(payload), headers)


def body_response(status: int, text: str, headers: Mapping[str, str] | None) -> web.Response:
    # Scripted headers may carry their own Content-Type (and aiohttp's HTTPException headers
    # always do); they win, and the length is always recomputed.
    merged = CIMultiDict(headers or {})
    merged.setdefault("Content-Type", "application/json")
    merged.popall("Content-Length", None)
    return web.Response(status=status, body=text.encode(), headers=merged)


def error_payload(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": None}}


def error_response(record: RecordedRequest, reply: Reply) -> web.Response:
    """The service's error for ``reply.status``, with the scripted overrides applied."""
    code, template = _DEFAULT_ERRORS.get(
        reply.status, ("error", f"Request failed with status {reply.status}.")
    )
    message = reply.error_message or template.format(model=record.model)
    headers: dict[str, str] = {}
    if reply.status == 429:
        # Real 429s always say which limit tripped; a script can still override it.
        headers["x-ratelimit-type"] = RATE_LIMIT_PER_MINUTE
    if reply.retry_after is not None:
        headers["Retry-After"] = f"{reply.retry_after:g}"
    headers.update(reply.headers)
    payload = error_payload(reply.error_code or code, message)
    return json_response(reply.status, payload, headers)


def rate_limited_response(refusal: Refusal) -> web.Response:
    return json_response(
        429,
        error_payload("RateLimitReached", refusal.message),
        {"Retry-After": str(refusal.retry_after), "x-ratelimit-type": refusal.limit_type},
    )


def _usage(record: RecordedRequest, reply: Reply, content: str) -> dict[str, int]:
    prompt_text = "".join(text_of(m.get("content")) for m in record.messages if isinstance(m, dict))
    prompt = reply.prompt_tokens
    if prompt is None:
        prompt = estimate_tokens(prompt_text)
    completion = reply.completion_tokens
    if completion is None:
        completion = estimate_tokens(content)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _envelope(record: RecordedRequest, obj: str, number: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{number:08d}",
        "object": obj,
        "created": int(time.time()),
        "model": record.model,
    }


def completion_body(
    record: RecordedRequest, reply: Reply, content: str, number: int
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` body; ``number`` makes its id."""
    body = _envelope(record, "chat.completion", number)
    body["choices"] = [
        {
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": reply.finish_reason,
        }
    ]
    body["usage"] = _usage(record, reply, content)
    return body


def stream_events(
    record: RecordedRequest, reply: Reply, content: str, number: int
) -> Iterator[bytes]:
    """The SSE events of a streamed answer, without the closing ``[DONE]``."""
    if reply.malformed:
        yield b'data: {"id": "chatcmpl-broken", "choices": [\n\n'
        return
    envelope = _envelope(record, "chat.completion.chunk", number)
    for i, piece in enumerate(_chunks(content, reply.chunk_size)):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        yield _sse({**envelope, "choices": [choice]})
    last = {"index": 0, "delta": {}, "finish_reason": reply.finish_reason}
    yield _sse({**envelope, "choices": [last], "usage": _usage(record, reply, content)})


#: A keep-alive as sse-starlette (llama-cpp-python's server) sends it, and a field no
#: client knows: the SSE format says to skip both.
KEEPALIVE = b": ping - 2026-11-30 14:00:00.000000+00:00\r\nx-vendor-hint: 1\r\n\r\n"


def _sse(payload: Any) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _chunks(text: str, size: int) -> Iterator[str]:
    if size <= 0:
        size = max(1, len(text))
    for start in range(0, len(text), size):
        yield text[start : start + size]


async def read_json_object(request: web.Request) -> dict[str, Any] | None:
    """The request body if it is a JSON object, else None."""
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def drop_connection(request: web.Request) -> None:
    # Closing the transport before writing a byte is what a crashed upstream or a load
    # balancer reset looks like to a client: a connection error, not an HTTP status.
    transport = request.transport
    if transport is not None:
        transport.close()


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    """Answer every failure (unknown route, handler bug) with the service's JSON error shape."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "bad_request")
        # Keep headers such as Allow, but not the plain-text Content-Type of aiohttp's page.
        kept = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
        return json_response(exc.status, error_payload(code, exc.reason), kept)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_response(500, error_payload("InternalServerError", "The model server failed."))
