"""Suggestion counts on this machine: one file per UTC day in the user's data directory.

Each flush appends one JSON line of counts to the day's file, so processes never need to
coordinate (appends of one short line do not interleave) and nothing is rewritten. Files
are created 0600 and never written through a link (`core.private_files`); days older than
the report reaches are deleted as new ones start.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from aurelis.core.private_files import open_private_append
from aurelis.models.suggestions.counts import Tally, add_tally

__all__ = ["OutcomeFiles", "outcomes_folder"]

#: Days kept: the 7-day report and one day of slack for time zones.
KEEP_DAYS = 8
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl$")
_MAX_LINE = 64 * 1024


def outcomes_folder() -> Path:
    import platformdirs  # on first use: the language server starts without it

    return Path(platformdirs.user_data_dir("aurelis")) / "suggestions"


class OutcomeFiles:
    """Appends tallies to day files and reads them back."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or outcomes_folder()

    def append(self, day: str, tally: Mapping[str, int]) -> None:
        if not tally:
            return
        line = json.dumps(dict(tally), separators=(",", ":"), sort_keys=True)
        with open_private_append(self.folder / f"{day}.jsonl") as handle:
            handle.write(line + "\n")

    def read(self, days: list[str]) -> dict[str, Tally]:
        """Each day's summed counts (missing days are empty; damaged lines are skipped)."""
        return {day: self._read_day(self.folder / f"{day}.jsonl") for day in days}

    def prune(self, keep: list[str]) -> None:
        """Delete day files not in `keep` (best effort: a file in use is gone next time)."""
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                found = _DAY_FILE.match(entry.name)
                if found and found.group(1) not in keep and entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    @staticmethod
    def _read_day(path: Path) -> Tally:
        total: Tally = {}
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            descriptor = os.open(path, flags)
        except OSError:
            return total  # missing, or a link planted in its place: nothing of ours
        with os.fdopen(descriptor, "r", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if len(line) <= _MAX_LINE:
                    add_tally(total, _counts(line))
        return total


def _counts(line: str) -> dict[str, int]:
    try:
        parsed = json.loads(line)
    except json.JSONDecodeError:
        return {}  # a line cut short by a crash
    if not isinstance(parsed, dict):
        return {}
    return {
        str(name): count
        for name, count in parsed.items()
        if isinstance(count, int) and not isinstance(count, bool)
    }
