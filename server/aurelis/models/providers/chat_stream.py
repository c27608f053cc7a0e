"""Streamed chat completions, sent through the azure-ai-inference client's own pipeline
(same transport, credential and headers) and read with our SSE decoder.

The SDK's stream parser fails on SSE comments and unknown fields, which OpenAI-compatible
servers send as keep-alives, and reports a connection cut mid-answer as a malformed response;
this path ignores the former and names the latter for what it is. A stream that ends
without a single event, or with an event that is not a completion chunk, is a failure of
that model (so the request falls back), never an empty answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import AzureError, ServiceResponseTimeoutError
from azure.core.rest import AsyncHttpResponse, HttpRequest

from aurelis.core.exceptions import (
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    TransientModelError,
)
from aurelis.core.secrets import redact
from aurelis.models.providers.base import Completion, ProviderCall, RateLimitInfo, StreamChunk
from aurelis.models.providers.sse import SseDecoder

__all__ = [
    "API_VERSION",
    "EmptyStreamError",
    "StreamInterruptedError",
    "StreamReader",
    "stream_request",
]

logger = logging.getLogger("aurelis.models.stream")

#: The api-version azure-ai-inference 1.0.0b9 sends with every chat request.
API_VERSION = "2024-05-01-preview"
_DONE = "[DONE]"


class _DropIncompleteDownload(logging.Filter):
    """azure-core logs "Incomplete download." (a bare line on stderr when logging is not
    configured) before raising; we report the cut ourselves, with the chunk count."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Incomplete download."


logging.getLogger("azure.core.pipeline.transport._aiohttp").addFilter(_DropIncompleteDownload())


class EmptyStreamError(ModelResponseError):
    """A 200 stream that ended without a single event (see `AzureInferenceProvider`)."""


class StreamInterruptedError(TransientModelError):
    """The server ended the stream ([DONE]) before the answer had a finish reason.

    llama-cpp-python's server does this to a stream whenever another request arrives (its
    default `--interrupt_requests true`); the answer so far is incomplete.
    """


def stream_request(call: ProviderCall) -> HttpRequest:
    """The streamed chat request, as the SDK would build it (path, api-version, body)."""
    body = {
        "messages": call.messages,
        "model": call.deployment,
        "temperature": call.temperature,
        "max_tokens": call.max_tokens,
        "stream": True,
    }
    return HttpRequest(
        "POST",
        "/chat/completions",
        params={"api-version": API_VERSION},
        headers={"Accept": "text/event-stream"},
        json=body,
    )


@dataclass
class StreamReader:
    """Reads one streamed answer off an open response; `chunks` counts the events read."""

    response: AsyncHttpResponse
    call: ProviderCall
    endpoint: str
    rate_limit: RateLimitInfo
    chunks: int = 0
    parts: list[str] = field(default_factory=list)
    usage: Any = None
    finish: str | None = None
    model_reported: str | None = None
    done: bool = False

    async def read(self) -> AsyncIterator[StreamChunk]:
        """The text as it comes, then a final chunk carrying the whole completion."""
        if _is_json(self.response):  # a server that ignored `stream` and answered at once
            yield await self._whole_answer()
            return
        async for data in self._event_data():
            text = self._take(data)
            if text:
                self.parts.append(text)
                yield StreamChunk(text)
        self._check_ended()
        yield StreamChunk("", final=self._completion())

    async def read_all(self) -> Completion:
        """The whole answer, for a caller that wants no pieces (`complete`).

        The same checks as `read`, without a generator and a chunk object per event. No
        timeout per piece: the caller bounds the whole read with the call's timeout, which
        began earlier and so always ends first.
        """
        if _is_json(self.response):
            whole = await self._whole_answer()
            assert whole.final is not None
            return whole.final
        decoder = SseDecoder()
        try:
            async for piece in self.response.iter_bytes():
                for event in decoder.feed(piece):
                    if event.data.strip() == _DONE:
                        self.done = True
                        break
                    self.chunks += 1
                    text = self._take(event.data)
                    if text:
                        self.parts.append(text)
                if self.done:
                    break
        except (AzureError, OSError) as error:
            raise self._read_failed(error) from None
        self._note_comments(decoder)
        self._check_ended()
        return self._completion()

    async def _event_data(self) -> AsyncIterator[str]:
        decoder = SseDecoder()
        pieces = self.response.iter_bytes().__aiter__()
        while not self.done:
            piece = await self._next_piece(pieces)
            if piece is None:
                break
            for event in decoder.feed(piece):
                if event.data.strip() == _DONE:
                    self.done = True
                    break
                self.chunks += 1
                yield event.data
        self._note_comments(decoder)

    def _note_comments(self, decoder: SseDecoder) -> None:
        if decoder.comments:
            logger.debug("%s: skipped %d SSE comment line(s)", self.call.model, decoder.comments)

    async def _next_piece(self, pieces: AsyncIterator[bytes]) -> bytes | None:
        try:
            async with asyncio.timeout(self.call.timeout):
                return await anext(pieces)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise self._silent() from None
        except (AzureError, OSError) as error:
            raise self._read_failed(error) from None

    def _read_failed(self, error: AzureError | OSError) -> ModelError:
        if isinstance(error, ServiceResponseTimeoutError):  # the transport's read timeout
            return self._silent()
        logger.debug("%s: stream read failed: %r", self.call.model, error)
        return self._cut("the answer stopped before its end")

    def _silent(self) -> ModelTimeoutError:
        return ModelTimeoutError(
            f"{self.call.model} sent nothing for {self.call.timeout:g}s after {self._so_far()}",
            model=self.call.model,
            hint="raise request_timeout or try again",
        )

    def _take(self, data: str) -> str:
        """The text of one completion chunk (a JSON object); anything else is an error."""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise self._malformed(f"an event that is not JSON: {_excerpt(data)}") from None
        if not isinstance(chunk, dict):
            raise self._malformed(f"an event that is not a JSON object: {_excerpt(data)}")
        if "error" in chunk:
            raise self._error_event(chunk["error"])
        self.usage = chunk.get("usage") or self.usage
        self.model_reported = chunk.get("model") or self.model_reported
        text: list[str] = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict):
                raise self._malformed(f"a chunk whose choices are not objects: {_excerpt(data)}")
            self.finish = choice.get("finish_reason") or self.finish
            delta = choice.get("delta") or {}
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str):
                text.append(content)
        return "".join(text)

    def _check_ended(self) -> None:
        if self.chunks == 0:
            raise EmptyStreamError(
                f"{self.call.model} sent a malformed stream: no completion events"
                + self._status_note(),
                model=self.call.model,
            )
        if not self.done and self.finish is None:
            raise self._cut("the stream ended without its end marker")
        if self.finish is None:
            raise StreamInterruptedError(
                f"{self.endpoint} ended {self.call.model}'s answer after {self._so_far()} "
                "without a finish reason (llama-cpp-python's server does so when another "
                "request arrives, unless started with --interrupt_requests false)",
                model=self.call.model,
            )

    def _completion(self) -> Completion:
        usage = self.usage if isinstance(self.usage, dict) else {}
        return Completion(
            content="".join(self.parts),
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
            finish_reason=self.finish,
            model_reported=self.model_reported,
            rate_limit=self.rate_limit,
        )

    async def _whole_answer(self) -> StreamChunk:
        body = await self.response.read()
        try:
            answer = json.loads(body)
            message = answer["choices"][0]["message"]["content"]
            if not isinstance(message, str):
                raise TypeError("content is not text")
        except (ValueError, KeyError, IndexError, TypeError):
            raise self._malformed(f"a body that is not a completion: {_excerpt(body)}") from None
        self.parts.append(message)
        self.usage = answer.get("usage")
        self.finish = answer["choices"][0].get("finish_reason")
        self.model_reported = answer.get("model")
        return StreamChunk(message, final=self._completion())

    # --- errors ----------------------------------------------------------------------------
    def _so_far(self) -> str:
        return f"{self.chunks} chunk{'s' if self.chunks != 1 else ''}"

    def _cut(self, why: str) -> TransientModelError:
        return TransientModelError(
            f"connection to {self.endpoint} closed after {self._so_far()} of "
            f"{self.call.model}'s answer ({why})",
            model=self.call.model,
            hint="the server stopped or dropped the connection; try again",
        )

    def _malformed(self, what: str) -> ModelResponseError:
        return ModelResponseError(
            f"{self.call.model} sent a malformed stream: {what}", model=self.call.model
        )

    def _error_event(self, error: Any) -> ModelError:
        message = error.get("message") if isinstance(error, dict) else error
        return TransientModelError(
            f"{self.call.model} reported an error after {self._so_far()}: {_excerpt(str(message))}",
            model=self.call.model,
        )

    def _status_note(self) -> str:
        kind = self.response.headers.get("Content-Type") or "no content type"
        return f" (HTTP {self.response.status_code}, {kind})"


def _is_json(response: AsyncHttpResponse) -> bool:
    kind = (response.headers.get("Content-Type") or "").lower()
    return kind.startswith("application/json")


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _excerpt(data: str | bytes, limit: int = 80) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = redact(" ".join(text.split()))
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
