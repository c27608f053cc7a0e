"""The shell's history file: what the user typed, credentials masked, readable only by them.

People paste keys and connection strings into prompts. The session keeps the exact text
in memory (Up recalls what was typed), but the file gets the redacted text, is created
0600 and is never written through a symlink (`core.private_files`): a history path that
is a link, or a file of another user, is not used at all and the shell keeps history in
memory for that session, with one warning.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import TYPE_CHECKING

from aurelis.core.private_files import UnsafeFileError, open_private_append
from aurelis.core.secrets import redact

if TYPE_CHECKING:
    from prompt_toolkit.history import History

__all__ = ["open_history", "history_entry"]


def history_entry(text: str, when: datetime.datetime | None = None) -> str:
    """One entry in prompt_toolkit's file format (`# time` then `+line` lines), redacted."""
    stamp = when or datetime.datetime.now()
    lines = "".join(f"+{line}\n" for line in redact(text).split("\n"))
    return f"\n# {stamp}\n{lines}"


def open_history(path: Path) -> tuple[History, str | None]:
    """(history, warning): a private file history, or memory only with the reason why."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    class PrivateFileHistory(FileHistory):
        def store_string(self, string: str) -> None:
            try:
                with open_private_append(Path(os.fsdecode(self.filename))) as handle:
                    handle.write(history_entry(string))
            except OSError:
                pass  # a history that cannot be written must not end the session

    try:
        with open_private_append(path):
            pass  # creates it 0600, tightens an old 0644 one, refuses links
    except UnsafeFileError as error:
        return InMemoryHistory(), f"history not saved: {error.strerror}"
    except OSError:
        return InMemoryHistory(), None  # a read-only home must not stop the shell
    return PrivateFileHistory(str(path)), None
