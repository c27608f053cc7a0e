"""What the loopback model server is told to answer: scripted replies and recorded requests.

`Reply` scripts one answer; `RecordedRequest` is a request as received; `ScriptBook` holds
the per-model queues, defaults and responders and picks the reply for each request.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "ANY_MODEL",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptBook",
    "ScriptSpec",
    "estimate_tokens",
    "text_of",
]

#: Model key that matches requests for any model.
ANY_MODEL = "*"

_SCRIPT_KEYS = frozenset({"defaults", "queues", "rate_limits", "responses", "token"})
_LIMIT_FIELDS = frozenset({"per_minute", "per_day", "concurrent"})

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
    #: Streams: an SSE comment (`: ping - <time>`, as sse-starlette sends) and an unknown
    #: field before every event; clients must skip both.
    stream_comments: bool = False
    #: Streams: close the connection after this many text chunks (no end, no [DONE]).
    cut_after_chunks: int | None = None
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
                return text_of(message.get("content"))
        return ""


def text_of(content: Any) -> str:
    """Message content is a string or, for multimodal messages, a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def estimate_tokens(text: str) -> int:
    return len(text) // 4 + 1


def _default_content(record: RecordedRequest) -> str:
    # Names the model so tests can tell which link of a fallback chain answered.
    gist = " ".join(record.last_user_message.split())[:60]
    return f"[{record.model}] {gist}"


def _fixed(text: str) -> Responder:
    return lambda _body: text


@dataclass(frozen=True)
class ScriptSpec:
    """A validated script (the ``--script`` file / ``POST /_aurelis/script`` shape)."""

    defaults: dict[str, Reply | None]
    queues: dict[str, list[Reply]]
    rate_limits: dict[str, dict[str, Any]]
    responses: dict[str, str]
    token: tuple[str | None] | None  # (token,) when the script sets one, else None

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> ScriptSpec:
        """Validate the whole spec before anything changes; raises ValueError/TypeError."""
        unknown = set(spec) - _SCRIPT_KEYS
        if unknown:
            raise ValueError(f"unknown script key(s): {', '.join(sorted(unknown))}")
        limits = {model: dict(kw) for model, kw in dict(spec.get("rate_limits") or {}).items()}
        for kw in limits.values():
            if set(kw) - _LIMIT_FIELDS:
                raise ValueError(f"unknown rate limit field(s) in {kw}")
        return cls(
            defaults={
                model: None if fields_ is None else Reply.from_dict(fields_)
                for model, fields_ in dict(spec.get("defaults") or {}).items()
            },
            queues={
                model: [Reply.from_dict(item) for item in items]
                for model, items in dict(spec.get("queues") or {}).items()
            },
            rate_limits=limits,
            responses={
                model: str(text) for model, text in dict(spec.get("responses") or {}).items()
            },
            token=(spec["token"],) if "token" in spec else None,
        )


class ScriptBook:
    """Per-model reply queues, default replies and responders; thread-safe."""

    def __init__(self) -> None:
        # The event loop thread and a test's thread both touch the state below.
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._responders: dict[str, Responder] = {}

    def queue(self, model: str, replies: tuple[Reply, ...] | list[Reply]) -> None:
        with self._lock:
            self._queues.setdefault(model, deque()).extend(replies)

    def set_default(self, model: str, reply: Reply | None) -> None:
        with self._lock:
            if reply is None:
                self._defaults.pop(model, None)
            else:
                self._defaults[model] = reply

    def set_responder(self, model: str, fn: Responder) -> None:
        with self._lock:
            self._responders[model] = fn

    def apply(self, spec: ScriptSpec) -> None:
        """Queues are appended; defaults and responses are replaced per model."""
        for model, reply in spec.defaults.items():
            self.set_default(model, reply)
        for model, replies in spec.queues.items():
            self.queue(model, replies)
        for model, text in spec.responses.items():
            self.set_responder(model, _fixed(text))

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._defaults.clear()
            self._responders.clear()

    def next_reply(self, model: str) -> Reply:
        """The model's next queued reply, else its default, else a normal 200."""
        with self._lock:
            for key in (model, ANY_MODEL):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            return self._defaults.get(model) or self._defaults.get(ANY_MODEL) or Reply()

    def content_for(self, record: RecordedRequest, reply: Reply) -> str:
        if reply.content is not None:
            return reply.content
        with self._lock:
            responder = self._responders.get(record.model) or self._responders.get(ANY_MODEL)
        if responder is not None:
            return str(responder(record.body))
        return _default_content(record)
