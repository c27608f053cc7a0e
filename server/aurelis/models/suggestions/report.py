"""Reading suggestion counts back for `aurelis usage` and `aurelis models`: the team's
from Redis when `redis_url` is set and answers, else this machine's day files."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aurelis.core.config import AurelisConfig
from aurelis.core.redis_url import redact_url
from aurelis.models.shared.connection import SharedRedis, SharedUnavailable
from aurelis.models.shared.state import keyspace_of, redis_url_of
from aurelis.models.suggestions.counts import SuggestionRow, Tally, merged, summarise
from aurelis.models.suggestions.ledger import recent_days
from aurelis.models.suggestions.local_file import OutcomeFiles
from aurelis.models.suggestions.team import TeamOutcomes

__all__ = ["SuggestionReport", "read_outcomes", "WEEK"]

WEEK = 7


@dataclass(frozen=True)
class SuggestionReport:
    """Counts for today and the last 7 days (today included), UTC."""

    today: Tally
    week: Tally
    #: The Redis the counts come from (masked URL); None: this machine's files.
    shared_through: str | None

    def rows(self, period: str, *, by_language: bool = True) -> list[SuggestionRow]:
        return summarise(self.today if period == "today" else self.week, by_language=by_language)


async def read_outcomes(
    config: AurelisConfig, files: OutcomeFiles | None = None, *, now: float | None = None
) -> SuggestionReport:
    """The report (never raises because Redis failed: it falls back to the files)."""
    days = recent_days(time.time() if now is None else now, WEEK)
    url = redis_url_of(config)
    if url is not None:
        link = SharedRedis(url)
        try:
            counts = await TeamOutcomes(link, keyspace_of(config)).read(days)
            return _report(days, counts, redact_url(url))
        except SharedUnavailable:
            pass
        finally:
            await link.close()
    counts = (files or OutcomeFiles()).read(days)
    return _report(days, counts, None)


def _report(days: list[str], counts: dict[str, Tally], shared: str | None) -> SuggestionReport:
    return SuggestionReport(counts[days[0]], merged(counts.values()), shared)
