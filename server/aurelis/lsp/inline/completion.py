"""`textDocument/inlineCompletion`: debounced, superseded, cancellable, cached, speculated.

For each document only the newest request matters: a newer one supersedes the older,
which returns an empty list at once (never left unanswered). Automatic requests wait the
debounce first (invoked ones do not), so a burst of keystrokes costs one model call. A
suggestion the user is typing along is answered from the cache. `$/cancelRequest` cancels
the handler's task, and with it the model call. Answers pass quality gates (loops, blank
answers and echoes of the following code are dropped), and once one is shown the
suggestion for after accepting it is computed in the background (`inline_speculation`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field

from lsprotocol import types

from aurelis.core.log import log_event
from aurelis.lsp.errors import RequestFailed
from aurelis.lsp.inline import outcomes as suggestion_outcomes
from aurelis.lsp.inline.cache import CompletionCache
from aurelis.lsp.inline.outcomes import Origin, SuggestionOutcomes
from aurelis.lsp.inline.prompt import LocalInline, build_inline_request
from aurelis.lsp.inline.speculation import Speculations, has_spare_slot
from aurelis.lsp.inline.suggestion import (
    local_limits,
    local_token_counter,
    suggestion_from,
)
from aurelis.lsp.inline.window import TokenCounter
from aurelis.lsp.live_config import get_config, orchestrator, route
from aurelis.lsp.local_model import local_model
from aurelis.lsp.model_calls import routes_to_local
from aurelis.lsp.protocol.cancellation import Interrupted, run_until, wait_unless
from aurelis.lsp.server_state import AurelisLanguageServer
from aurelis.lsp.workspace.documents import DocumentSnapshot, is_at_version, snapshot
from aurelis.models.types import ModelRequest, ModelResponse, ModelType, TaskType

__all__ = ["InlineCompletions", "register"]

logger = logging.getLogger("aurelis.lsp.inline")
_EMPTY = types.InlineCompletionList(items=[])
#: How long a request waits for cancelled speculations to release the model (a local
#: generation stops at its next token; prompt evaluation cannot be interrupted).
_SPECULATION_STOP_WAIT = 1.0
_PROBE = ModelRequest(prompt="routing probe", task_type=TaskType.CODE_COMPLETION)


@dataclass
class _Timing:
    """Where a request's time went; `server_ms` is what the benchmark reports."""

    started: float = field(default_factory=time.perf_counter)
    waiting: float = 0.0
    model: float = 0.0
    outcome: str = "empty"
    finish: str | None = None  # the model's finish reason (stop, length, time_limit, ...)
    origin: Origin | None = None  # the model (and dialect) whose suggestion is returned

    def server_ms(self) -> float:
        return (time.perf_counter() - self.started - self.waiting - self.model) * 1000

    def answer_seconds(self) -> float:
        """From the request to the answer, less the debounce (what suggestion latency is)."""
        return time.perf_counter() - self.started - self.waiting


class InlineCompletions:
    """Per-server inline completion state: the newest request per document and the cache."""

    def __init__(self, ls: AurelisLanguageServer) -> None:
        self._ls = ls
        self._newest: dict[str, asyncio.Event] = {}
        self.cache = CompletionCache()
        self.speculations = Speculations()
        self.outcomes = SuggestionOutcomes(ls)
        self._closed = False

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
                finish=timing.finish,
            )

    async def shutdown(self) -> None:
        """The server is shutting down: stop speculating (before the models are closed)."""
        self._closed = True
        await self.outcomes.close()  # first: an editor may not wait long for our reply
        await self.speculations.stop_running(within=_SPECULATION_STOP_WAIT)

    def forget(self, uri: str) -> None:
        """The document was closed: drop its cache entries and stop its pending request."""
        self.cache.forget(uri)
        self.speculations.forget(uri)
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
        if not settings.inline_enabled or document is None or document.is_secret_file:
            return _EMPTY
        offset = document.offset(params.position)
        prefix, suffix = document.text[:offset], document.text[offset:]
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
        remembered = await self._remembered(document.uri, prefix, suffix, superseded, timing)
        if remembered is None and automatic:
            if self.speculations.found_nothing(document.uri, prefix, suffix):
                timing.outcome = "speculated_nothing"  # the model was just asked exactly this
                return _EMPTY
        if remembered:
            timing.outcome = "cache"
            self._speculate(document, prefix, remembered, suffix)
            return self._items(remembered, document, offset, timing)
        # The user went elsewhere: the guesses were not accepted.
        began = time.perf_counter()
        if await self.speculations.stop_running(within=_SPECULATION_STOP_WAIT):
            await _local_model_settled()
        timing.waiting += time.perf_counter() - began  # the model's wind-down, not ours
        if automatic and await self._debounced_away(document, superseded, timing):
            return _EMPTY
        text = await self._ask_model(document, offset, superseded, timing, automatic=automatic)
        if not text:
            return _EMPTY
        self.cache.store(document.uri, prefix, suffix, text, timing.origin)
        timing.outcome = "model"
        self._speculate(document, prefix, text, suffix)
        return self._items(text, document, offset, timing)

    def _items(
        self, text: str, document: DocumentSnapshot, offset: int, timing: _Timing
    ) -> types.InlineCompletionList:
        origin = timing.origin or Origin("unknown", "chat")
        item = self.outcomes.offer(document, offset, text, origin, timing.answer_seconds())
        return types.InlineCompletionList(items=[item])

    async def _remembered(
        self, uri: str, prefix: str, suffix: str, superseded: asyncio.Event, timing: _Timing
    ) -> str | None:
        """A cached suggestion for this position, or the running speculation's, or None."""
        found = self.cache.lookup_with_origin(uri, prefix, suffix)
        if found is None:
            found = await self._await_speculation(uri, prefix, suffix, superseded, timing)
        if found is None:
            return None
        remembered, origin = found
        timing.origin = origin if isinstance(origin, Origin) else None
        return remembered

    async def _debounced_away(
        self, document: DocumentSnapshot, superseded: asyncio.Event, timing: _Timing
    ) -> bool:
        """Wait the debounce; True when the request is no longer wanted after it."""
        began = time.perf_counter()
        stop = await wait_unless(self._ls.settings.server.debounce_ms / 1000, superseded)
        timing.waiting += time.perf_counter() - began
        if stop:
            timing.outcome = "superseded"
            return True
        if not is_at_version(self._ls.workspace, document.uri, document.version):
            timing.outcome = "stale"  # typed on without asking again: nothing to show
            return True
        return False

    async def _await_speculation(
        self, uri: str, prefix: str, suffix: str, superseded: asyncio.Event, timing: _Timing
    ) -> tuple[str, object] | None:
        """The speculated suggestion for this very position, once it is in (else None)."""
        pending = self.speculations.pending_for(uri, prefix, suffix)
        if pending is None:
            return None
        began = time.perf_counter()
        try:
            await run_until(asyncio.shield(pending), superseded)
        except Interrupted:
            return None
        except Exception:  # noqa: BLE001 - a failed guess: ask the model as usual
            return None
        finally:
            timing.model += time.perf_counter() - began  # the model's time, not the server's
        return self.cache.lookup_with_origin(uri, prefix, suffix)

    async def _ask_model(
        self,
        document: DocumentSnapshot,
        offset: int,
        superseded: asyncio.Event,
        timing: _Timing,
        *,
        automatic: bool,
    ) -> str:
        local = self._local_inline(typing=automatic)
        fim = local is None and _fim_first()
        request = self._request(document, offset, local, fim)
        if request is None:
            return ""
        began = time.perf_counter()
        # The local model has its own generation limits; a remote one gets the inline
        # deadline, past which the call is cancelled (its connection closed) and the
        # editor gets nothing rather than a suggestion for text already typed over.
        deadline = None if local is not None else self._deadline(automatic=automatic)
        try:
            if local is not None and not automatic:
                await run_until(_model_loaded(), superseded)
            call = asyncio.wait_for(self._ls.models.call(request), deadline)
            response = await run_until(call, superseded)
        except Interrupted:
            timing.outcome = "superseded"
            return ""
        except TimeoutError:
            timing.outcome = "deadline"
            return ""
        except RequestFailed:
            timing.outcome = "model_error"  # the status notification tells the user
            return ""
        finally:
            timing.model += time.perf_counter() - began
        if not is_at_version(self._ls.workspace, document.uri, document.version):
            timing.outcome = "stale"
            return ""
        metadata = response.metadata or {}
        timing.finish = str(metadata.get("finish_reason"))
        text = _suggestion(response, document, offset, local is not None, fim, trim=not automatic)
        timing.origin = _origin(response.model_used, local=local is not None, fim=fim)
        if not text:
            timing.outcome = "dropped"  # empty, degenerate or unsafe
        return text

    def _deadline(self, *, automatic: bool) -> float:
        config = get_config()
        limit = config.inline_deadline_ms if automatic else config.inline_invoked_deadline_ms
        return limit / 1000

    def _request(
        self,
        document: DocumentSnapshot,
        offset: int,
        local: LocalInline | None,
        fim: bool,
        *,
        speculative: bool = False,
    ) -> ModelRequest | None:
        """The model request for a suggestion at `offset`, with this server's settings."""
        server = self._ls.settings.server
        return build_inline_request(
            document,
            offset,
            self._ls.sources_for(document),
            server.inline_prompt_tokens,
            local=local,
            speculative=speculative,
            fim=fim,
            temperature=server.inline_temperature,
        )

    def _local_inline(self, *, typing: bool = False) -> LocalInline | None:
        """Window and limits for the embedded model, when inline completions go there."""
        if not routes_to_local(_PROBE):
            return None
        return local_limits(get_config(), typing=typing, count_tokens=self._token_counter())

    def _token_counter(self) -> TokenCounter:
        """The local model's own tokenizer once it is loaded, else an estimate."""
        return local_token_counter(local_model())

    # --- speculation ------------------------------------------------------------------------
    def _speculate(self, document: DocumentSnapshot, prefix: str, text: str, suffix: str) -> None:
        """Start computing the suggestion for after `text` is accepted (if not known yet)."""
        wanted = get_config().inline_speculation
        if self._closed or wanted == "never" or (wanted == "local" and not routes_to_local(_PROBE)):
            return
        accepted = prefix + text
        uri = document.uri
        if self.speculations.pending_for(uri, accepted, suffix) is not None:
            return
        if self.cache.lookup(uri, accepted, suffix) is not None:
            return
        after = dataclasses.replace(document, text=accepted + suffix, version=None)
        self.speculations.start(
            uri, accepted, suffix, lambda: self._speculation(after, len(accepted))
        )

    async def _speculation(self, document: DocumentSnapshot, offset: int) -> bool:
        """Ask the model for the suggestion at `offset`; whether it had one (which is cached)."""
        began = time.perf_counter()
        outcome = "empty"
        try:
            local = self._local_inline()
            fim = local is None and _fim_first()
            request = self._request(document, offset, local, fim, speculative=True)
            if request is None:
                return False
            if local is None and not has_spare_slot(request):
                outcome = "no_spare_slot"  # a rate-limit slot is for what the user asks
                return True  # not asked: the user's own request must ask
            response = await orchestrator().process_request(request)
            prefix, suffix = document.text[:offset], document.text[offset:]
            text = _suggestion(response, document, offset, local is not None, fim, trim=False)
            if text:
                origin = _origin(response.model_used, local=local is not None, fim=fim)
                self.cache.store(document.uri, prefix, suffix, text, origin)
                outcome = "stored"
            return bool(text)
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as error:  # noqa: BLE001 - a failed guess costs nothing
            outcome = f"failed: {type(error).__name__}"
            return True  # nothing learnt: the user's own request asks again
        finally:
            log_event(
                logger,
                "inline_completion",
                logging.DEBUG,
                speculative=True,
                outcome=outcome,
                model_ms=round((time.perf_counter() - began) * 1000, 1),
            )


async def _local_model_settled() -> None:
    """After cancelling a local guess: wait until it has let go of the model (it stops at
    its next token), or the request would find the model's one slot taken."""
    model = local_model()
    if model is not None and routes_to_local(_PROBE):
        await model.settled(_SPECULATION_STOP_WAIT)
        await asyncio.sleep(0)  # the cancelled call releases its slot on the next turn


def _fim_first() -> bool:
    """Whether inline completions' first model takes fill-in-the-middle (`inline_fim`)."""
    return route(TaskType.CODE_COMPLETION) in get_config().inline_fim


def _origin(model: ModelType, *, local: bool, fim: bool) -> Origin:
    """Who answered, in which dialect: a base model continuing text, FIM, or chat."""
    if local and model is ModelType.LOCAL:
        return Origin(model.value, "completion")
    return Origin(model.value, "fim" if fim and _answered_as_fim(model) else "chat")


def _answered_as_fim(model: ModelType) -> bool:
    # The chain may have fallen back to a chat model: only a FIM model's answer continues
    # the prefix verbatim.
    return model in get_config().inline_fim


async def _model_loaded() -> None:
    """Load the local model (or join its load) when asked explicitly (Invoked): the request
    would otherwise be refused until it is loaded (typing never waits: models.chain_budget)."""
    model = local_model(build=True)
    if model is not None and model.state in ("not_loaded", "loading"):
        await model.preload()


def _suggestion(
    response: ModelResponse,
    document: DocumentSnapshot,
    offset: int,
    local: bool,
    fim: bool,
    *,
    trim: bool,
) -> str:
    """What to show for `response` at `offset`; a base model's or FIM answer continues the
    prefix verbatim, a chat answer does not.

    `trim`: cut an answer stopped by its time or token limit back to its last complete
    token. Asked-for suggestions are; typing-time and speculative ones are not: they are
    what typing along is forwarded from, and trimmed, every pause cost a model call (typing
    p50 4 ms → 390 ms in bench/lsp_inline_typing.py)."""
    continuation = local or (fim and _answered_as_fim(response.model_used))
    return suggestion_from(
        response.content,
        document.text[:offset],
        document.text[offset:],
        document.language_id,
        continuation=continuation,
        finish_reason=(response.metadata or {}).get("finish_reason") if trim else None,
    )


def register(ls: AurelisLanguageServer) -> InlineCompletions:
    """Register the inline completion feature on `ls`; its state (closed documents must be
    forgotten there too)."""
    inline = InlineCompletions(ls)

    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        params: types.InlineCompletionParams,
    ) -> types.InlineCompletionList:
        return await inline.complete(params)

    suggestion_outcomes.register(ls, inline.outcomes)
    return inline
