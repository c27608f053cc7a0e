"""What became of each inline suggestion: offered, shown, (partially) accepted, retained.

Every item the server returns carries an id and a command (LSP 3.18
`InlineCompletionItem.command`) that the editor runs when the user accepts it. Editors
that can also report `aurelis/didShowCompletion` and `aurelis/didPartiallyAcceptCompletion`
notifications. After an accept the server looks at the document twice (the early and the
final `suggestion_retention_checks`, 30 s and 2 min by default) and counts how much of the
accepted text is still there (`retention`). Counts go to the `SuggestionLedger` under the
model, task, language and dialect that produced the item; no text is recorded.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from aurelis.lsp.inline.retention import CONTEXT_CHARS, Placement, retained_characters
from aurelis.lsp.live_config import get_config
from aurelis.lsp.server_state import AurelisLanguageServer
from aurelis.lsp.workspace.documents import DocumentSnapshot, snapshot
from aurelis.models import telemetry
from aurelis.models.suggestions.counts import OutcomeKey, latency_counter
from aurelis.models.types import TaskType

if TYPE_CHECKING:
    from aurelis.models.suggestions.ledger import SuggestionLedger

__all__ = [
    "ACCEPT_COMMAND",
    "PARTIAL_NOTIFICATION",
    "SHOWN_NOTIFICATION",
    "Origin",
    "SuggestionOutcomes",
    "register",
]

ACCEPT_COMMAND = "aurelis.acceptSuggestion"
SHOWN_NOTIFICATION = "aurelis/didShowCompletion"
PARTIAL_NOTIFICATION = "aurelis/didPartiallyAcceptCompletion"
#: Items remembered for a later show / accept: a suggestion older than this many newer
#: ones is gone from the screen anyway.
_REMEMBERED = 256


@dataclass(frozen=True)
class Origin:
    """Which model answered, and in which dialect ("chat", "fim" or "completion")."""

    model: str
    dialect: str


@dataclass
class _Offered:
    key: OutcomeKey
    uri: str
    text: str
    placement: Placement
    shown: bool = False
    accepted_length: int = 0
    whole: bool = False
    checking: bool = False


class SuggestionOutcomes:
    """The items offered lately and what the editor said about them."""

    def __init__(self, ls: AurelisLanguageServer) -> None:
        self._ls = ls
        self._ledger: SuggestionLedger | None = None
        self._items: OrderedDict[str, _Offered] = OrderedDict()
        self._checks: set[asyncio.TimerHandle] = set()

    # --- events -------------------------------------------------------------------------
    def offer(
        self, document: DocumentSnapshot, offset: int, text: str, origin: Origin, seconds: float
    ) -> types.InlineCompletionItem:
        """An item for `text` at `offset`, with its id and accept command, counted offered."""
        item_id = uuid.uuid4().hex
        key = OutcomeKey(
            origin.model, TaskType.CODE_COMPLETION.value, document.language_id, origin.dialect
        )
        before = document.text[max(0, offset - CONTEXT_CHARS) : offset]
        after = document.text[offset : offset + CONTEXT_CHARS]
        self._items[item_id] = _Offered(key, document.uri, text, Placement(offset, before, after))
        while len(self._items) > _REMEMBERED:
            self._items.popitem(last=False)
        self._count(key, {"offered": 1, latency_counter(seconds): 1})
        cursor = document.position(offset)
        return types.InlineCompletionItem(
            insert_text=text,
            range=types.Range(start=cursor, end=cursor),
            command=types.Command(title="Accept", command=ACCEPT_COMMAND, arguments=[item_id]),
        )

    def shown(self, item_id: str) -> None:
        item = self._items.get(item_id)
        if item is not None and not item.shown:
            item.shown = True
            self._count(item.key, {"shown": 1})

    def accepted(self, item_id: str) -> None:
        item = self._items.get(item_id)
        if item is None or item.whole:
            return
        self.shown(item_id)  # an accepted item was on screen, reported or not
        item.whole = True
        self._take(item, len(item.text), {"accepted": 1})

    def partially_accepted(self, item_id: str, length: int) -> None:
        item = self._items.get(item_id)
        if item is None or item.whole or length <= item.accepted_length:
            return
        self.shown(item_id)
        taken = _code_points(item.text, length)
        if taken > item.accepted_length:
            self._take(item, taken, {"partially_accepted": 1})

    async def close(self) -> None:
        """Stop the pending checks and write what was counted (the server shuts down)."""
        for handle in self._checks:
            handle.cancel()
        self._checks.clear()
        if self._ledger is not None:
            await self._ledger.close()

    # --- counting -----------------------------------------------------------------------
    def _take(self, item: _Offered, length: int, counts: dict[str, int]) -> None:
        counts["accepted_chars"] = length - item.accepted_length
        item.accepted_length = length
        self._count(item.key, counts)
        if not item.checking:
            item.checking = True
            early, final = get_config().suggestion_retention_checks
            self._later(early, item, "early")
            self._later(final, item, "final")

    def _later(self, delay: float, item: _Offered, stage: str) -> None:
        loop = asyncio.get_running_loop()
        holder: list[asyncio.TimerHandle] = []

        def run() -> None:
            self._checks.discard(holder[0])
            self._check(item, stage)

        holder.append(loop.call_later(delay, run))
        self._checks.add(holder[0])

    def _check(self, item: _Offered, stage: str) -> None:
        document = snapshot(self._ls.workspace, item.uri)
        if document is None:
            return  # closed before the check: nothing to measure, nothing counted
        accepted = item.text[: item.accepted_length]
        kept = retained_characters(accepted, item.placement, document.text)
        checked = {f"checked_chars_{stage}": len(accepted), f"retained_chars_{stage}": kept}
        self._count(item.key, checked)

    def _count(self, key: OutcomeKey, counts: Mapping[str, int]) -> None:
        metrics = telemetry.active()
        if metrics is not None:
            metrics.suggestion_counts(key.labels(), counts)
        self._ledger_now().add(key, counts)

    def _ledger_now(self) -> SuggestionLedger:
        if self._ledger is None:
            # Imported on first use: a server that never completes loads no Redis client.
            from aurelis.models.suggestions.ledger import SuggestionLedger

            self._ledger = SuggestionLedger(get_config)
        return self._ledger


def _code_points(text: str, utf16_units: int) -> int:
    """How many characters of `text` the first `utf16_units` UTF-16 code units cover
    (editors count the accepted length in UTF-16, as JavaScript strings do)."""
    units = 0
    for index, character in enumerate(text):
        units += 2 if ord(character) > 0xFFFF else 1
        if units > utf16_units:
            return index
    return len(text)


def _item_id(params: Any) -> str | None:
    value = params.get("id") if isinstance(params, dict) else getattr(params, "id", None)
    return value if isinstance(value, str) else None


def _length(params: Any) -> int:
    name = "acceptedLength"
    value = params.get(name) if isinstance(params, dict) else getattr(params, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def register(ls: AurelisLanguageServer, outcomes: SuggestionOutcomes) -> None:
    """The accept command and the show / partial-accept notifications."""

    @ls.command(ACCEPT_COMMAND)
    def accept(server: LanguageServer, *arguments: object) -> None:
        item_id = arguments[0] if arguments else None
        if isinstance(item_id, str):
            outcomes.accepted(item_id)

    @ls.feature(SHOWN_NOTIFICATION)
    def did_show(params: Any) -> None:
        item_id = _item_id(params)
        if item_id is not None:
            outcomes.shown(item_id)

    @ls.feature(PARTIAL_NOTIFICATION)
    def did_partially_accept(params: Any) -> None:
        item_id = _item_id(params)
        if item_id is not None:
            outcomes.partially_accepted(item_id, _length(params))
