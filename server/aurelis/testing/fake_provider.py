"""An in-process provider for unit tests of the orchestrator's pipeline (no sockets).

Like httpx's MockTransport, every call goes to a handler function that decides the answer:

    def handler(call: ProviderCall) -> Completion | str:
        if call.model == "codestral-2501":
            raise TransientModelError("down", model=call.model, status_code=503)
        return f"answer to {call.request.prompt}"

    fake = FakeProvider(handler)
    orchestrator = ModelOrchestrator(providers=fake.factories())

The handler may be sync or async, return a `Completion` (or a str: the content, with token
counts of 1 each) or raise the error the provider would. Streams cut the answer into
`chunk_size` pieces, the last carrying the completion. Provider and end-to-end behaviour
(the wire format, headers, dropped connections) is tested on `ModelServer` instead.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aurelis.models.providers.base import Completion, ProviderCall, StreamChunk

__all__ = ["FakeProvider", "Handler"]

Handler = Callable[[ProviderCall], "Completion | str | Awaitable[Completion | str]"]


class FakeProvider:
    """A provider whose every call is answered by `handler(call)`; it records the calls."""

    name = "fake"

    def __init__(self, handler: Handler, *, chunk_size: int = 4, chunk_delay: float = 0.0) -> None:
        self.handler = handler
        self.chunk_size, self.chunk_delay = chunk_size, chunk_delay
        self.calls: list[ProviderCall] = []
        self.in_flight = 0
        self.max_concurrent = 0
        self.closed = False

    def factory(self, config: Any) -> FakeProvider:
        """A provider factory (see `ModelOrchestrator(providers=...)`) that returns this one."""
        return self

    def factories(self) -> dict[str, Callable[[Any], FakeProvider]]:
        """This provider for every kind of model, remote and local."""
        return {"remote": self.factory, "local": self.factory}

    def calls_for(self, model: str) -> list[ProviderCall]:
        """The calls to one model (its ModelType value, e.g. "gpt-4o-mini")."""
        return [call for call in self.calls if call.model == model]

    async def complete(self, call: ProviderCall) -> Completion:
        self.calls.append(call)
        self.in_flight += 1
        self.max_concurrent = max(self.max_concurrent, self.in_flight)
        try:
            result = self.handler(call)
            if inspect.isawaitable(result):
                result = await result
        finally:
            self.in_flight -= 1
        return result if isinstance(result, Completion) else Completion(str(result), 1, 1)

    async def stream(self, call: ProviderCall) -> AsyncIterator[StreamChunk]:
        completion = await self.complete(call)
        text, size = completion.content, max(1, self.chunk_size)
        pieces = [text[start : start + size] for start in range(0, len(text), size)] or [""]
        for index, piece in enumerate(pieces):
            if index and self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            last = index == len(pieces) - 1
            yield StreamChunk(piece, completion if last else None)

    async def close(self) -> None:
        self.closed = True
