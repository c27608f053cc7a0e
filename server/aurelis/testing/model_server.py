"""A loopback chat-completions server for tests and benchmarks.

It speaks the wire format the ``azure-ai-inference`` SDK uses against GitHub Models and Azure AI
Foundry (``POST {endpoint}/chat/completions?api-version=...``), so tests can drive the real
client over real HTTP and script what the "model" does: content, latency, status codes,
``Retry-After``, malformed bodies, dropped connections, streaming and rate limits.

Use it in-process (``async with ModelServer() as server``), on a background thread
(``start_in_thread()``) or as a subprocess::

    python -m aurelis.testing.model_server --port 0 --script replies.json

which prints one ``READY http://127.0.0.1:PORT`` line on stdout once it listens. Out-of-process
users drive it through ``GET /_aurelis/requests``, ``POST /_aurelis/script`` and
``POST /_aurelis/reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

__all__ = [
    "ANY_MODEL",
    "RATE_LIMIT_CONCURRENT",
    "RATE_LIMIT_PER_DAY",
    "RATE_LIMIT_PER_MINUTE",
    "ModelServer",
    "RecordedRequest",
    "Reply",
    "main",
]

# Named explicitly: under `python -m` __name__ is "__main__".
log = logging.getLogger("aurelis.testing.model_server")

#: Model key that matches requests for any model.
ANY_MODEL = "*"

#: Values of the ``x-ratelimit-type`` header on a 429 sent by ``enforce_rate_limit``.
RATE_LIMIT_PER_MINUTE = "UserByModelByMinute"
RATE_LIMIT_PER_DAY = "UserByModelByDay"
RATE_LIMIT_CONCURRENT = "concurrent"

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

_MINUTE = 60.0
_DAY = 86_400.0
# Long enough for a stream in progress to finish, short enough that stop() never stalls a test.
_SHUTDOWN_TIMEOUT = 0.5
_BODY_HEADERS = frozenset({"content-type", "content-length"})
_SCRIPT_KEYS = frozenset({"defaults", "queues", "rate_limits", "responses", "token"})

Responder = Callable[[dict[str, Any]], str]


@dataclass
class Reply:
    """One scripted answer. The defaults give a normal, instant 200."""

    status: int = 200
    content: str | None = None  # None -> responder, else "[model] <last user message>"
    latency: float = 0.0  # seconds before the first byte
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    malformed: bool = False  # 200 whose body is not valid JSON
    drop: bool = False  # close the connection without any response
    stream_chunk_delay: float = 0.0
    chunk_size: int = 8
    finish_reason: str = "stop"
    prompt_tokens: int | None = None  # None -> len(text) // 4 + 1
    completion_tokens: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        """Build a reply from a JSON object (script files, the control endpoint)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown Reply field(s): {', '.join(sorted(unknown))}")
        reply = cls(**data)
        reply.headers = {str(k): str(v) for k, v in reply.headers.items()}
        return reply


@dataclass(frozen=True)
class RecordedRequest:
    """A chat-completions request as the server received it."""

    model: str
    body: dict[str, Any]
    headers: dict[str, str]
    path: str
    received_at: float  # time.monotonic()
    stream: bool

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return messages if isinstance(messages, list) else []

    @property
    def last_user_message(self) -> str:
        for message in reversed(self.messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""


def _text_of(content: Any) -> str:
    """Message content is a string or, for multimodal messages, a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _estimate_tokens(text: str) -> int:
    return len(text) // 4 + 1


def _default_content(record: RecordedRequest) -> str:
    # Names the model so tests can tell which link of a fallback chain answered.
    gist = " ".join(record.last_user_message.split())[:60]
    return f"[{record.model}] {gist}"


@dataclass
class _Refusal:
    limit_type: str
    limit: int
    window: float | None
    wait: float

    @property
    def retry_after(self) -> int:
        # Whole seconds, never 0: a client honouring "Retry-After: 0" would spin.
        return max(1, math.ceil(self.wait))

    @property
    def message(self) -> str:
        if self.window is None:
            return f"Too many concurrent requests (limit {self.limit}). Please retry later."
        return (
            f"Rate limit of {self.limit} per {int(self.window)}s exceeded for "
            f"{self.limit_type}. Please wait {self.retry_after} seconds before retrying."
        )


@dataclass
class _RateLimit:
    """Sliding windows of admitted requests for one model, plus its in-flight count."""

    per_minute: int | None
    per_day: int | None
    concurrent: int | None
    minute_hits: deque[float] = field(default_factory=deque)
    day_hits: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    scale: float = 1.0  # multiplies both windows (ModelServer.rate_window_scale)

    def refusal(self, now: float) -> _Refusal | None:
        self._expire(now)
        # The day window first: its wait is the longer one, so a retry after it succeeds.
        if self.per_day is not None and len(self.day_hits) >= self.per_day:
            wait = _wait(self.day_hits, _DAY * self.scale, now)
            return _Refusal(RATE_LIMIT_PER_DAY, self.per_day, _DAY * self.scale, wait)
        if self.per_minute is not None and len(self.minute_hits) >= self.per_minute:
            wait = _wait(self.minute_hits, _MINUTE * self.scale, now)
            return _Refusal(RATE_LIMIT_PER_MINUTE, self.per_minute, _MINUTE * self.scale, wait)
        if self.concurrent is not None and self.in_flight >= self.concurrent:
            # No way to know when a slot frees; one second is what a client should wait.
            return _Refusal(RATE_LIMIT_CONCURRENT, self.concurrent, None, 1.0)
        return None

    def admit(self, now: float) -> None:
        self.minute_hits.append(now)
        self.day_hits.append(now)
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1

    def remaining(self) -> int | None:
        if self.per_minute is not None:
            return max(0, self.per_minute - len(self.minute_hits))
        if self.per_day is not None:
            return max(0, self.per_day - len(self.day_hits))
        if self.concurrent is not None:
            return max(0, self.concurrent - self.in_flight)
        return None

    def _expire(self, now: float) -> None:
        while self.minute_hits and self.minute_hits[0] <= now - _MINUTE * self.scale:
            self.minute_hits.popleft()
        while self.day_hits and self.day_hits[0] <= now - _DAY * self.scale:
            self.day_hits.popleft()


def _wait(hits: deque[float], window: float, now: float) -> float:
    # A limit of 0 has no hits to age out: the caller waits a whole window.
    return hits[0] + window - now if hits else window


def _json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    return _body_response(status, json.dumps(payload), headers)


def _body_response(status: int, text: str, headers: Mapping[str, str] | None) -> web.Response:
    # Scripted headers may carry their own Content-Type (and aiohttp's HTTPException headers
    # always do); they win, and the length is always recomputed.
    merged = CIMultiDict(headers or {})
    merged.setdefault("Content-Type", "application/json")
    merged.popall("Content-Length", None)
    return web.Response(status=status, body=text.encode(), headers=merged)


def _error_payload(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": None}}


def _sse(payload: Any) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _chunks(text: str, size: int) -> Iterator[str]:
    if size <= 0:
        size = max(1, len(text))
    for start in range(0, len(text), size):
        yield text[start : start + size]


class ModelServer:
    """A scriptable chat-completions server on loopback.

    ``url`` is the SDK endpoint (the SDK appends ``/chat/completions``). Scripting methods are
    thread-safe, so a test may drive a server that runs on ``start_in_thread()``.
    """

    def __init__(self, *, token: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.status_counts: Counter[int] = Counter()
        self.max_concurrent = 0
        self.in_flight = 0
        # The event loop thread and a test's thread both touch the state below.
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._responders: dict[str, Responder] = {}
        self._limit_specs: dict[str, tuple[int | None, int | None, int | None]] = {}
        self._limiters: dict[str, _RateLimit] = {}
        #: Multiplies the per-minute and per-day windows of enforce_rate_limit (0.05 makes
        #: "a minute" 3 s), so rate-limit tests need not wait real minutes.
        self.rate_window_scale = 1.0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._handlers: set[asyncio.Task[Any]] = set()  # chat requests in progress (loop only)
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> ModelServer:
        """Listen on ``host:port`` (port 0 picks a free one) in the running loop."""
        if self._runner is not None:
            raise RuntimeError("ModelServer is already running")
        runner = web.AppRunner(
            self._build_app(),
            access_log=None,
            # A client that hangs up abandons its request, as on a real server: the handler
            # is cancelled, so in_flight and concurrency limits stay truthful.
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("model server listening on %s", self.url)
        return self

    async def stop(self) -> None:
        """Close the listener and every connection; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        # aiohttp would wait shutdown_timeout twice for handlers still sleeping out a scripted
        # latency; a test server that stops should stop now, like a process being killed.
        pending = list(self._handlers)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await runner.cleanup()

    async def __aenter__(self) -> ModelServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def start_in_thread(self) -> ModelServer:
        """Run the server on its own event loop in a daemon thread; returns once listening."""
        if self._thread is not None:
            raise RuntimeError("ModelServer is already running in a thread")
        ready = threading.Event()
        errors: list[BaseException] = []
        thread = threading.Thread(
            target=lambda: asyncio.run(self._serve_in_thread(ready, errors)),
            name="aurelis-model-server",
            daemon=True,
        )
        thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("ModelServer thread did not start within 10 s")
        if errors:
            thread.join()
            raise errors[0]
        self._thread = thread
        return self

    def stop_thread(self) -> None:
        """Stop a server started with ``start_in_thread`` and wait for its thread."""
        thread, self._thread = self._thread, None
        loop, stop = self._thread_loop, self._thread_stop
        if thread is None or loop is None or stop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop already ended
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)

    async def _serve_in_thread(self, ready: threading.Event, errors: list[BaseException]) -> None:
        self._thread_loop = asyncio.get_running_loop()
        self._thread_stop = asyncio.Event()
        try:
            await self.start()
        except Exception as exc:  # reported to the caller of start_in_thread
            errors.append(exc)
            return
        finally:
            ready.set()
        try:
            await self._thread_stop.wait()
        finally:
            await self.stop()

    # ----------------------------------------------------------------- scripting

    def script(self, model: str, *replies: Reply) -> None:
        """Queue replies for ``model`` (or ``"*"``); each request consumes one, in order."""
        with self._lock:
            self._queues.setdefault(model, deque()).extend(replies)

    def set_default(self, model: str, reply: Reply) -> None:
        """Use ``reply`` for ``model`` (or ``"*"``) whenever its queue is empty."""
        with self._lock:
            self._defaults[model] = reply

    def clear_default(self, model: str) -> None:
        with self._lock:
            self._defaults.pop(model, None)

    def set_responder(self, model: str, fn: Responder) -> None:
        """Compute content as ``fn(request_json)`` for replies whose content is None."""
        with self._lock:
            self._responders[model] = fn

    def enforce_rate_limit(
        self,
        model: str,
        *,
        per_minute: int | None = None,
        per_day: int | None = None,
        concurrent: int | None = None,
    ) -> None:
        """Enforce sliding-window limits for ``model``; ``"*"`` applies them to each model
        without its own limits (counted per model). All None removes the limits."""
        with self._lock:
            if per_minute is None and per_day is None and concurrent is None:
                self._limit_specs.pop(model, None)
            else:
                self._limit_specs[model] = (per_minute, per_day, concurrent)
            # Start counting afresh; a "*" change touches every model that inherits it.
            for name in list(self._limiters):
                if name == model or (model == ANY_MODEL and name not in self._limit_specs):
                    del self._limiters[name]

    def apply_script(self, spec: Mapping[str, Any]) -> None:
        """Merge a script (the ``--script`` file / ``POST /_aurelis/script`` shape).

        Queues are appended; defaults, responses and rate limits are replaced per model; a
        ``null`` default clears it. The whole spec is validated before anything changes.
        """
        unknown = set(spec) - _SCRIPT_KEYS
        if unknown:
            raise ValueError(f"unknown script key(s): {', '.join(sorted(unknown))}")
        defaults = {
            model: None if fields_ is None else Reply.from_dict(fields_)
            for model, fields_ in dict(spec.get("defaults") or {}).items()
        }
        queues = {
            model: [Reply.from_dict(item) for item in items]
            for model, items in dict(spec.get("queues") or {}).items()
        }
        limits = {model: dict(kw) for model, kw in dict(spec.get("rate_limits") or {}).items()}
        responses = {model: str(text) for model, text in dict(spec.get("responses") or {}).items()}
        for kw in limits.values():
            if set(kw) - {"per_minute", "per_day", "concurrent"}:
                raise ValueError(f"unknown rate limit field(s) in {kw}")

        for model, reply in defaults.items():
            if reply is None:
                self.clear_default(model)
            else:
                self.set_default(model, reply)
        for model, replies in queues.items():
            self.script(model, *replies)
        for model, kw in limits.items():
            self.enforce_rate_limit(model, **kw)
        for model, text in responses.items():
            self.set_responder(model, _fixed(text))
        if "token" in spec:
            self.token = spec["token"]

    def reset(self) -> None:
        """Forget all scripting, limits, records and counters (the token stays)."""
        with self._lock:
            self._queues.clear()
            self._defaults.clear()
            self._responders.clear()
            self._limit_specs.clear()
            self._limiters.clear()
            self.requests.clear()
            self.status_counts.clear()
            self.max_concurrent = self.in_flight
            self._ids = itertools.count(1)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.model == model]

    # ----------------------------------------------------------------- HTTP plumbing

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[_json_errors])
        for path in CHAT_PATHS:
            app.router.add_post(path, self._handle_chat)
        app.router.add_get("/_aurelis/requests", self._handle_list_requests)
        app.router.add_post("/_aurelis/script", self._handle_script)
        app.router.add_post("/_aurelis/reset", self._handle_reset)
        return app

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._enter()
        try:
            try:
                response = await self._serve_chat(request)
            except Exception:
                # A bug here (or a responder that raised) must look like a server error to the
                # client, not take the server down.
                log.exception("chat handler failed")
                response = _json_response(
                    500, _error_payload("InternalServerError", "The model server failed.")
                )
            if response is None:  # dropped: the transport is closed, nothing gets written
                return web.Response()
            with self._lock:
                self.status_counts[response.status] += 1
            return response
        finally:
            self._leave()
            self._handlers.discard(task)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    async def _serve_chat(self, request: web.Request) -> web.StreamResponse | None:
        body = await _read_json_object(request)
        record = self._record(request, body or {})
        if body is None:
            return self._error_response(record, Reply(status=400))
        if not self._authorized(request):
            return self._error_response(record, Reply(status=401))
        limiter, refusal = self._admit(record.model)
        if refusal is not None:
            return self._rate_limited(refusal)
        try:
            return await self._answer(request, record, self._next_reply(record.model), limiter)
        finally:
            if limiter is not None:
                with self._lock:
                    limiter.release()

    async def _answer(
        self,
        request: web.Request,
        record: RecordedRequest,
        reply: Reply,
        limiter: _RateLimit | None,
    ) -> web.StreamResponse | None:
        if reply.latency > 0:
            await asyncio.sleep(reply.latency)
        if reply.drop:
            _drop_connection(request)
            return None
        if reply.status >= 400:
            return self._error_response(record, reply)
        headers = self._success_headers(reply, limiter)
        content = self._content_for(record, reply)
        if record.stream:
            return await self._stream(request, record, reply, content, headers)
        if reply.malformed:
            broken = '{"id": "chatcmpl-broken", "choices": [{"message": '
            return _body_response(reply.status, broken, headers)
        return _json_response(reply.status, self._completion(record, reply, content), headers)

    def _record(self, request: web.Request, body: dict[str, Any]) -> RecordedRequest:
        record = RecordedRequest(
            model=str(body.get("model") or ""),
            body=body,
            headers=dict(request.headers),
            path=request.path,
            received_at=time.monotonic(),
            stream=bool(body.get("stream")),
        )
        with self._lock:
            self.requests.append(record)
        log.debug("%s model=%s stream=%s", record.path, record.model, record.stream)
        return record

    def _authorized(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        auth = request.headers.get("Authorization", "")
        bearer = auth[7:] if auth[:7].lower() == "bearer " else None
        return self.token in (bearer, request.headers.get("api-key"))

    def _admit(self, model: str) -> tuple[_RateLimit | None, _Refusal | None]:
        with self._lock:
            spec = self._limit_specs.get(model) or self._limit_specs.get(ANY_MODEL)
            if spec is None:
                return None, None
            limiter = self._limiters.get(model)
            if limiter is None:
                limiter = self._limiters[model] = _RateLimit(*spec, scale=self.rate_window_scale)
            now = time.monotonic()
            refusal = limiter.refusal(now)
            if refusal is not None:
                return None, refusal
            limiter.admit(now)
            return limiter, None

    def _next_reply(self, model: str) -> Reply:
        with self._lock:
            for key in (model, ANY_MODEL):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            return self._defaults.get(model) or self._defaults.get(ANY_MODEL) or Reply()

    def _content_for(self, record: RecordedRequest, reply: Reply) -> str:
        if reply.content is not None:
            return reply.content
        with self._lock:
            responder = self._responders.get(record.model) or self._responders.get(ANY_MODEL)
        if responder is not None:
            return str(responder(record.body))
        return _default_content(record)

    def _rate_limited(self, refusal: _Refusal) -> web.Response:
        return _json_response(
            429,
            _error_payload("RateLimitReached", refusal.message),
            {"Retry-After": str(refusal.retry_after), "x-ratelimit-type": refusal.limit_type},
        )

    def _error_response(self, record: RecordedRequest, reply: Reply) -> web.Response:
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
        payload = _error_payload(reply.error_code or code, message)
        return _json_response(reply.status, payload, headers)

    def _success_headers(self, reply: Reply, limiter: _RateLimit | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if limiter is not None:
            with self._lock:
                remaining = limiter.remaining()
            if remaining is not None:
                headers["x-ratelimit-remaining-requests"] = str(remaining)
        if reply.retry_after is not None:
            headers["Retry-After"] = f"{reply.retry_after:g}"
        headers.update(reply.headers)
        return headers

    def _usage(self, record: RecordedRequest, reply: Reply, content: str) -> dict[str, int]:
        prompt_text = "".join(
            _text_of(m.get("content")) for m in record.messages if isinstance(m, dict)
        )
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = _estimate_tokens(prompt_text)
        completion = reply.completion_tokens
        if completion is None:
            completion = _estimate_tokens(content)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _envelope(self, record: RecordedRequest, obj: str) -> dict[str, Any]:
        with self._lock:
            n = next(self._ids)
        return {
            "id": f"chatcmpl-{n:08d}",
            "object": obj,
            "created": int(time.time()),
            "model": record.model,
        }

    def _completion(self, record: RecordedRequest, reply: Reply, content: str) -> dict[str, Any]:
        body = self._envelope(record, "chat.completion")
        body["choices"] = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": reply.finish_reason,
            }
        ]
        body["usage"] = self._usage(record, reply, content)
        return body

    async def _stream(
        self,
        request: web.Request,
        record: RecordedRequest,
        reply: Reply,
        content: str,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=reply.status, headers=headers)
        response.content_type = "text/event-stream"
        response.headers["Cache-Control"] = "no-cache"
        await response.prepare(request)
        try:
            for event in self._stream_events(record, reply, content):
                await response.write(event)
                if reply.stream_chunk_delay > 0:
                    await asyncio.sleep(reply.stream_chunk_delay)
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionError:
            # The client stopped reading (cancelled a completion); nothing is wrong here.
            log.debug("client disconnected mid-stream (%s)", record.model)
        return response

    def _stream_events(
        self, record: RecordedRequest, reply: Reply, content: str
    ) -> Iterator[bytes]:
        if reply.malformed:
            yield b'data: {"id": "chatcmpl-broken", "choices": [\n\n'
            return
        envelope = self._envelope(record, "chat.completion.chunk")
        for i, piece in enumerate(_chunks(content, reply.chunk_size)):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            choice = {"index": 0, "delta": delta, "finish_reason": None}
            yield _sse({**envelope, "choices": [choice]})
        last = {"index": 0, "delta": {}, "finish_reason": reply.finish_reason}
        yield _sse({**envelope, "choices": [last], "usage": self._usage(record, reply, content)})

    # ----------------------------------------------------------------- control endpoint

    async def _handle_list_requests(self, request: web.Request) -> web.Response:
        with self._lock:
            records = list(self.requests)
        return _json_response(
            200,
            [
                {"model": r.model, "body": r.body, "path": r.path, "stream": r.stream}
                for r in records
            ],
        )

    async def _handle_script(self, request: web.Request) -> web.Response:
        spec = await _read_json_object(request)
        if spec is None:
            return _json_response(400, _error_payload("bad_request", "expected a JSON object"))
        try:
            self.apply_script(spec)
        except (TypeError, ValueError) as exc:
            return _json_response(400, _error_payload("bad_request", str(exc)))
        return _json_response(200, {"ok": True})

    async def _handle_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return _json_response(200, {"ok": True})


def _fixed(text: str) -> Responder:
    return lambda _body: text


async def _read_json_object(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.read() or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _drop_connection(request: web.Request) -> None:
    # Closing the transport before writing a byte is what a crashed upstream or a load
    # balancer reset looks like to a client: a connection error, not an HTTP status.
    transport = request.transport
    if transport is not None:
        transport.close()


@web.middleware
async def _json_errors(
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
        return _json_response(exc.status, _error_payload(code, exc.reason), kept)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _json_response(
            500, _error_payload("InternalServerError", "The model server failed.")
        )


# --------------------------------------------------------------------- command line


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m aurelis.testing.model_server",
        description="Loopback chat-completions server for tests and benchmarks.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--script", help="JSON script: defaults, queues, rate_limits, ...")
    parser.add_argument("--token", help="require this bearer token (overrides the script's)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def _scripted_server(args: argparse.Namespace) -> ModelServer:
    """Build the server from the command line; a bad script exits with a one-line message."""
    server = ModelServer(host=args.host, port=args.port)
    if args.script:
        try:
            with open(args.script, encoding="utf-8") as fh:
                spec = json.load(fh)
            if not isinstance(spec, dict):
                raise ValueError("expected a JSON object")
            server.apply_script(spec)
        except (OSError, TypeError, ValueError) as exc:
            raise SystemExit(f"{args.script}: {exc}") from None
    if args.token is not None:
        server.token = args.token
    return server


async def _serve(server: ModelServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(signum, stop.set)
    await server.start()
    # The one line a parent process waits for; everything else goes to stderr.
    print(f"READY {server.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m aurelis.testing.model_server``."""
    args = _parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = _scripted_server(args)
    with contextlib.suppress(KeyboardInterrupt):  # SIGINT before the handler was installed
        asyncio.run(_serve(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
