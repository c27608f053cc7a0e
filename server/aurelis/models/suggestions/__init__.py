"""What became of inline suggestions: counted per model, task, language and dialect, kept
in the user's data directory and, with `redis_url` set, in Redis for the whole team.

Only counts and lengths are kept, never prompt or completion text.
"""

from __future__ import annotations

from aurelis.models.suggestions.counts import OutcomeKey, SuggestionRow, summarise
from aurelis.models.suggestions.ledger import SuggestionLedger
from aurelis.models.suggestions.report import SuggestionReport, read_outcomes

__all__ = [
    "OutcomeKey",
    "SuggestionLedger",
    "SuggestionReport",
    "SuggestionRow",
    "read_outcomes",
    "summarise",
]
