"""`textDocument/inlineCompletion`: debounced, superseded, cancellable, cached.

For each document only the newest request matters: a newer one supersedes the older,
which returns an empty list at once (never left unanswered). Automatic requests wait the
debounce first (invoked ones do not), so a burst of keystrokes costs one model call. A
suggestion the user is typing along is answered from the cache. `$/cancelRequest` cancels
the handler's task, and with it the model call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

from lsprotocol import types

from aurelis.core.log import log_event
from aurelis.core.redaction import REDACTED, looks_like_env_file
from aurelis.lsp.cancellation import Interrupted, run_until, wait_unless
from aurelis.lsp.documents import DocumentSnapshot, snapshot
from aurelis.lsp.errors import RequestFailed
from aurelis.lsp.inline_cache import CompletionCache
from aurelis.lsp.inline_prompt import build_inline_request
from aurelis.lsp.model_calls import routes_to_local
from aurelis.lsp.postprocess import clean_inline
from aurelis.models.types import ModelRequest, TaskType

if TYPE_CHECKING:
    from aurelis.lsp.server import AurelisLanguageServer

__all__ = ["InlineCompletions", "register"]

logger = logging.getLogger("aurelis.lsp.inline")
_EMPTY = types.InlineCompletionList(items=[])
_PROBE = ModelRequest(prompt="routing probe", task_type=TaskType.CODE_COMPLETION)


@dataclass
class _Timing:
    """Where a request's time went; `server_ms` is what the benchmark reports."""

    started: float = field(default_factory=time.perf_counter)
    waiting: float = 0.0
    model: float = 0.0
    outcome: str = "empty"

    def server_ms(self) -> float:
        return (time.perf_counter() - self.started - self.waiting - self.model) * 1000


class InlineCompletions:
    """Per-server inline completion state: the newest request per document and the cache."""

    def __init__(self, ls: AurelisLanguageServer) -> None:
        self._ls = ls
        self._newest: dict[str, asyncio.Event] = {}
        self.cache = CompletionCache()

    async def complete(self, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        uri = params.text_document.uri
        superseded = self._claim(uri)
        timing = _Timing()
        try:
            return await self._complete(params, superseded, timing)
        finally:
            self._release(uri, superseded)
            log_event(
                logger,
                "inline_completion",
                logging.DEBUG,
                outcome=timing.outcome,
                server_ms=round(timing.server_ms(), 3),
                model_ms=round(timing.model * 1000, 1),
                waited_ms=round(timing.waiting * 1000, 1),
            )

    def forget(self, uri: str) -> None:
        """The document was closed: drop its cache entries and stop its pending request."""
        self.cache.forget(uri)
        pending = self._newest.pop(uri, None)
        if pending is not None:
            pending.set()

    def _claim(self, uri: str) -> asyncio.Event:
        older = self._newest.get(uri)
        if older is not None:
            older.set()
        mine = self._newest[uri] = asyncio.Event()
        return mine

    def _release(self, uri: str, mine: asyncio.Event) -> None:
        if self._newest.get(uri) is mine:
            del self._newest[uri]

    async def _complete(
        self, params: types.InlineCompletionParams, superseded: asyncio.Event, timing: _Timing
    ) -> types.InlineCompletionList:
        settings = self._ls.settings.server
        document = snapshot(self._ls.workspace, params.text_document.uri)
        if not settings.inline_enabled or document is None or _is_secret(document):
            return _EMPTY
        offset = document.offset(params.position)
        prefix, suffix = document.text[:offset], document.text[offset:]
        remembered = self.cache.lookup(document.uri, prefix, suffix)
        if remembered:
            timing.outcome = "cache"
            return _items(remembered, document, offset)
        if params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic:
            began = time.perf_counter()
            stop = await wait_unless(settings.debounce_ms / 1000, superseded)
            timing.waiting = time.perf_counter() - began
            if stop:
                timing.outcome = "superseded"
                return _EMPTY
            if _version(self._ls, document.uri) != document.version:
                timing.outcome = "stale"  # typed on without asking again: nothing to show
                return _EMPTY
        text = await self._ask_model(document, offset, superseded, timing)
        if not text:
            return _EMPTY
        self.cache.store(document.uri, prefix, suffix, text)
        timing.outcome = "model"
        return _items(text, document, offset)

    async def _ask_model(
        self, document: DocumentSnapshot, offset: int, superseded: asyncio.Event, timing: _Timing
    ) -> str:
        request = build_inline_request(
            document,
            offset,
            self._ls.sources,
            self._ls.settings.server.inline_prompt_tokens,
            local=routes_to_local(_PROBE),
        )
        if request is None:
            return ""
        began = time.perf_counter()
        try:
            response = await run_until(self._ls.models.call(request), superseded)
        except Interrupted:
            timing.outcome = "superseded"
            return ""
        except RequestFailed:
            timing.outcome = "model_error"  # the status notification tells the user
            return ""
        finally:
            timing.model = time.perf_counter() - began
        if _version(self._ls, document.uri) != document.version:
            timing.outcome = "stale"
            return ""
        text = clean_inline(response.content, document.text[:offset], document.text[offset:])
        # A suggestion holding a redaction marker would write the marker into the code.
        return "" if REDACTED in text else text


def _version(ls: AurelisLanguageServer, uri: str) -> int | None:
    """The document's current version (None once closed)."""
    current = ls.workspace.text_documents.get(unquote(uri))
    return current.version if current is not None else None


def _is_secret(document: DocumentSnapshot) -> bool:
    return looks_like_env_file(document.path or document.uri)


def _items(text: str, document: DocumentSnapshot, offset: int) -> types.InlineCompletionList:
    cursor = document.position(offset)
    return types.InlineCompletionList(
        items=[
            types.InlineCompletionItem(
                insert_text=text, range=types.Range(start=cursor, end=cursor)
            )
        ]
    )


def register(ls: AurelisLanguageServer) -> None:
    """Register the inline completion feature on `ls`."""

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        params: types.InlineCompletionParams,
    ) -> types.InlineCompletionList:
        return await ls.inline.complete(params)
