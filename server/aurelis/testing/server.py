"""The loopback model server: lifecycle, scripting API and HTTP handlers.

A scriptable chat-completions server for tests and benchmarks (see `aurelis.testing`). What
it answers comes from `aurelis.testing.script`, how it is encoded from
`aurelis.testing.wire`, and its rate limits from `aurelis.testing.limits`. Its embeddings
route (`aurelis.testing.embeddings`) is scripted and recorded as chat is.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from aurelis.testing import wire
from aurelis.testing.embeddings import (
    EMBEDDINGS_PATHS,
    Embedder,
    EmbedderBook,
    embeddings_body,
    input_texts,
)
from aurelis.testing.fim_wire import FIM_PATHS, fim_body
from aurelis.testing.limits import RateLimit, RateLimits
from aurelis.testing.script import RecordedRequest, Reply, Responder, ScriptBook, ScriptSpec

__all__ = ["ModelServer"]

log = logging.getLogger(__name__)

# Long enough for a stream in progress to finish, short enough that stop() never stalls a test.
_SHUTDOWN_TIMEOUT = 0.5


class ModelServer:
    """A scriptable chat-completions server on loopback.

    ``url`` is the SDK endpoint (the SDKs append ``/chat/completions`` or ``/embeddings``).
    Scripting methods are thread-safe, so a test may drive a server that runs on
    ``start_in_thread()``.
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
        self._book = ScriptBook()
        self._embedders = EmbedderBook()
        self._limits = RateLimits()
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
        except Exception as exc:  # noqa: BLE001 - re-raised in the thread that called start_in_thread
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
        self._book.queue(model, replies)

    def set_default(self, model: str, reply: Reply) -> None:
        """Use ``reply`` for ``model`` (or ``"*"``) whenever its queue is empty."""
        self._book.set_default(model, reply)

    def clear_default(self, model: str) -> None:
        self._book.set_default(model, None)

    def set_responder(self, model: str, fn: Responder) -> None:
        """Compute content as ``fn(request_json)`` for replies whose content is None."""
        self._book.set_responder(model, fn)

    def set_embedder(self, model: str, fn: Embedder) -> None:
        """Compute the embedding of each input text as ``fn(text)`` for ``model`` (or ``"*"``);
        the default is `aurelis.testing.embeddings.hashed_embedding`."""
        self._embedders.set(model, fn)

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
        self._limits.enforce(model, per_minute, per_day, concurrent)

    def apply_script(self, spec: Mapping[str, Any]) -> None:
        """Merge a script (the ``--script`` file / ``POST /_aurelis/script`` shape).

        Queues are appended; defaults, responses and rate limits are replaced per model; a
        ``null`` default clears it. The whole spec is validated before anything changes.
        """
        script = ScriptSpec.parse(spec)
        self._book.apply(script)
        for model, kw in script.rate_limits.items():
            self.enforce_rate_limit(model, **kw)
        if script.token is not None:
            self.token = script.token[0]

    def reset(self) -> None:
        """Forget all scripting, limits, records and counters (the token stays)."""
        self._book.clear()
        self._embedders.clear()
        self._limits.clear()
        with self._lock:
            self.requests.clear()
            self.status_counts.clear()
            self.max_concurrent = self.in_flight
            self._ids = itertools.count(1)

    def requests_for(self, model: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.model == model]

    # ----------------------------------------------------------------- HTTP plumbing

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[wire.json_errors])
        for path in wire.CHAT_PATHS:
            app.router.add_post(path, self._handle_chat)
        for path in FIM_PATHS:  # answered like chat, in the FIM route's own shape
            app.router.add_post(path, self._handle_chat)
        for path in EMBEDDINGS_PATHS:  # scripted like chat (statuses, latency, drops, limits)
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
                response = wire.json_response(
                    500, wire.error_payload("InternalServerError", "The model server failed.")
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
        body = await wire.read_json_object(request)
        record = self._record(request, body or {})
        if body is None:
            return wire.error_response(record, Reply(status=400))
        if not self._authorized(request):
            return wire.error_response(record, Reply(status=401))
        limiter, refusal = self._limits.admit(record.model, self.rate_window_scale)
        if refusal is not None:
            return wire.rate_limited_response(refusal)
        try:
            reply = self._book.next_reply(record.model)
            return await self._answer(request, record, reply, limiter)
        finally:
            if limiter is not None:
                self._limits.release(limiter)

    async def _answer(
        self,
        request: web.Request,
        record: RecordedRequest,
        reply: Reply,
        limiter: RateLimit | None,
    ) -> web.StreamResponse | None:
        if reply.latency > 0:
            await asyncio.sleep(reply.latency)
        if reply.drop:
            wire.drop_connection(request)
            return None
        if reply.status >= 400:
            return wire.error_response(record, reply)
        headers = self._success_headers(reply, limiter)
        if record.path in EMBEDDINGS_PATHS:
            return self._embeddings(record, reply, headers)
        content = self._book.content_for(record, reply)
        if record.stream:
            return await self._stream(request, record, reply, content, headers)
        if reply.malformed:
            broken = '{"id": "chatcmpl-broken", "choices": [{"message": '
            return wire.body_response(reply.status, broken, headers)
        number = self._next_id()
        body = fim_body(record, reply, content, number)
        if body is None:
            body = wire.completion_body(record, reply, content, number)
        return wire.json_response(reply.status, body, headers)

    def _embeddings(
        self, record: RecordedRequest, reply: Reply, headers: dict[str, str]
    ) -> web.Response:
        if reply.malformed:
            broken = '{"object": "list", "data": [{"embedding": '
            return wire.body_response(reply.status, broken, headers)
        texts = input_texts(record.body)
        if texts is None:
            message = "'input' must be a string or a non-empty list of strings."
            return wire.error_response(record, Reply(status=400, error_message=message))
        vectors = self._embedders.vectors(record.model, texts)
        return wire.json_response(reply.status, embeddings_body(record, reply, vectors), headers)

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

    def _success_headers(self, reply: Reply, limiter: RateLimit | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if limiter is not None:
            remaining = self._limits.remaining(limiter)
            if remaining is not None:
                headers["x-ratelimit-remaining-requests"] = str(remaining)
        if reply.retry_after is not None:
            headers["Retry-After"] = f"{reply.retry_after:g}"
        headers.update(reply.headers)
        return headers

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

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
            events = wire.stream_events(record, reply, content, self._next_id())
            for sent, event in enumerate(events):
                if sent == reply.cut_after_chunks:
                    wire.drop_connection(request)  # mid-answer, as a crashed server does
                    return response
                if reply.stream_comments:
                    await response.write(wire.KEEPALIVE)
                await response.write(event)
                if reply.stream_chunk_delay > 0:
                    await asyncio.sleep(reply.stream_chunk_delay)
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionError:
            # The client stopped reading (cancelled a completion); nothing is wrong here.
            log.debug("client disconnected mid-stream (%s)", record.model)
        return response

    # ----------------------------------------------------------------- control endpoint

    async def _handle_list_requests(self, request: web.Request) -> web.Response:
        with self._lock:
            records = list(self.requests)
        return wire.json_response(
            200,
            [
                {"model": r.model, "body": r.body, "path": r.path, "stream": r.stream}
                for r in records
            ],
        )

    async def _handle_script(self, request: web.Request) -> web.Response:
        spec = await wire.read_json_object(request)
        if spec is None:
            return wire.json_response(
                400, wire.error_payload("bad_request", "expected a JSON object")
            )
        try:
            self.apply_script(spec)
        except (TypeError, ValueError) as exc:
            return wire.json_response(400, wire.error_payload("bad_request", str(exc)))
        return wire.json_response(200, {"ok": True})

    async def _handle_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return wire.json_response(200, {"ok": True})
