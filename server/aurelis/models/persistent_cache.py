"""The on-disk layer of the response cache: one sqlite file, WAL, mode 0600, size-bounded.

Answers survive editor restarts. The file is a cache, so any trouble with it costs at most a
cache miss: a corrupt or unreadable file is moved aside (``*.corrupt-<time>``) and recreated
with a warning, and if even that fails the disk layer switches itself off.

The file is never opened through a symlink (nor its `-wal`/`-shm`/`-journal` siblings),
and an existing file is written only if it holds our cache and nothing else: a cache_dir
that points at another program's database switches the disk layer off and leaves that
file exactly as it was (not even moved aside).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from aurelis.core.private_files import PRIVATE_MODE, UnsafeFileError, check_private

__all__ = ["PersistentCache"]

logger = logging.getLogger("aurelis.models.cache")

T = TypeVar("T")

_SIBLINGS = ("-wal", "-shm", "-journal")
_OUR_OBJECTS = {
    ("table", "entries"),
    ("index", "entries_used_at"),
    ("index", "sqlite_autoindex_entries_1"),  # the primary key's
}


class ForeignCacheFile(Exception):
    """The cache path is a link, someone else's file, or a database that is not ours."""


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries ("
    " key TEXT PRIMARY KEY, value TEXT NOT NULL, size INTEGER NOT NULL,"
    " stored_at REAL NOT NULL, used_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_used_at ON entries (used_at)",
)


class PersistentCache:
    """Key → JSON text, evicting least recently used entries beyond the size bound."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._total = 0
        self._conn: sqlite3.Connection | None = self._open()

    # --- public operations (never raise on a bad file) ----------------------------------
    def get(self, key: str, *, min_stored_at: float) -> str | None:
        def op(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT value, stored_at FROM entries WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            if not isinstance(row[0], str) or not _is_number(row[1]):
                # A row another program (or a bug) wrote: drop it, never fail on it.
                logger.warning("persistent cache %s: dropped a malformed entry", self.path)
                conn.execute("DELETE FROM entries WHERE key = ?", (key,))
                return None
            if row[1] < min_stored_at:
                self._delete(conn, key)
                return None
            conn.execute("UPDATE entries SET used_at = ? WHERE key = ?", (time.time(), key))
            return str(row[0])

        return self._run(op, None)

    def put(self, key: str, value: str, stored_at: float, max_mb: int) -> None:
        def op(conn: sqlite3.Connection) -> None:
            self._delete(conn, key)
            size = len(value.encode("utf-8"))
            conn.execute(
                "INSERT INTO entries (key, value, size, stored_at, used_at) VALUES (?,?,?,?,?)",
                (key, value, size, stored_at, time.time()),
            )
            self._total += size
            self._evict(conn, max_mb * 1024 * 1024)

        self._run(op, None)

    def delete(self, key: str) -> None:
        self._run(lambda conn: self._delete(conn, key), None)

    def clear(self) -> set[str]:
        def op(conn: sqlite3.Connection) -> set[str]:
            keys = {str(row[0]) for row in conn.execute("SELECT key FROM entries")}
            conn.execute("DELETE FROM entries")
            self._total = 0
            return keys

        return self._run(op, set())

    def count(self) -> int:
        return self._run(lambda conn: _scalar(conn, "SELECT COUNT(*) FROM entries"), 0)

    def size_bytes(self) -> int:
        return self._total

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- internals --------------------------------------------------------------------------
    def _run(self, op: Callable[[sqlite3.Connection], T], default: T) -> T:
        with self._lock:
            if self._conn is None:
                return default
            try:
                return op(self._conn)
            except sqlite3.OperationalError as error:
                # Locked, read-only or full disk: skip this once, the file itself is fine.
                logger.warning("persistent cache %s: %s (skipped)", self.path, error)
                return default
            except sqlite3.DatabaseError as error:
                self._conn.close()
                self._conn = self._recover(error)
                return default
            except (TypeError, ValueError) as error:
                # A value of the wrong type in some row: a miss, never a failed request.
                logger.warning(
                    "persistent cache %s: malformed data (%s); skipped", self.path, error
                )
                return default

    def _delete(self, conn: sqlite3.Connection, key: str) -> None:
        row = conn.execute("SELECT size FROM entries WHERE key = ?", (key,)).fetchone()
        if row is not None:
            conn.execute("DELETE FROM entries WHERE key = ?", (key,))
            self._total -= int(row[0]) if _is_number(row[0]) else 0

    def _evict(self, conn: sqlite3.Connection, max_bytes: int) -> None:
        while self._total > max_bytes:
            rows = conn.execute(
                "SELECT key, size FROM entries ORDER BY used_at LIMIT 16"
            ).fetchall()
            if not rows:
                self._total = 0
                return
            for key, size in rows:
                conn.execute("DELETE FROM entries WHERE key = ?", (key,))
                self._total -= int(size)
                if self._total <= max_bytes:
                    return

    def _open(self) -> sqlite3.Connection | None:
        try:
            return self._connect()
        except ForeignCacheFile as error:
            logger.warning("persistent cache disabled: %s", error)
            return None
        except (sqlite3.DatabaseError, OSError) as error:
            return self._recover(error)

    def _recover(self, error: BaseException) -> sqlite3.Connection | None:
        aside = self._move_aside()
        if aside is not None:
            logger.warning(
                "persistent cache %s was unreadable (%s); moved it to %s and started a new one",
                self.path,
                error,
                aside,
            )
        try:
            return self._connect()
        except (sqlite3.DatabaseError, OSError) as second:
            logger.warning("persistent cache disabled: cannot create %s (%s)", self.path, second)
            return None

    def _move_aside(self) -> Path | None:
        target = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d%H%M%S')}")
        moved: Path | None = None
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{self.path}{suffix}")
            try:
                if suffix:
                    source.unlink(missing_ok=True)
                elif source.exists():
                    source.replace(target)
                    moved = target
            except OSError:
                pass
        return moved

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Create the file 0600 ourselves: sqlite would use the umask (often 0644), and the
        # WAL and shm files copy the permissions of the database file.
        if _open_private(self.path):
            _check_ours(self.path)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            for statement in _SCHEMA:
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
            if columns != {"key", "value", "size", "stored_at", "used_at"}:
                raise sqlite3.DatabaseError(f"unexpected cache schema {sorted(columns)}")
            self._total = _scalar(conn, "SELECT COALESCE(SUM(size), 0) FROM entries")
        except BaseException:
            conn.close()
            raise
        return conn


def _open_private(path: Path) -> bool:
    """Create or open `path` 0600 without following links; True if it already held data."""
    for suffix in _SIBLINGS:
        if Path(f"{path}{suffix}").is_symlink():
            raise ForeignCacheFile(f"{path}{suffix} is a symbolic link; not writing through it")
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, PRIVATE_MODE)
    except OSError as error:
        if path.is_symlink():
            raise ForeignCacheFile(f"{path} is a symbolic link; not writing through it") from None
        raise error
    try:
        info = check_private(fd, path, repair=True)
        return info.st_size > 0
    except UnsafeFileError as error:
        raise ForeignCacheFile(error.strerror) from None
    finally:
        os.close(fd)


def _check_ours(path: Path) -> None:
    """Read-only look at an existing file: only our table and index, or hands off."""
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return  # unreadable: the caller's integrity check moves our damaged file aside
    try:
        rows = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError:
        return  # not a database at all (a damaged cache): recovered by the caller
    finally:
        conn.close()
    objects = {(str(kind), str(name)) for kind, name in rows}
    if not objects <= _OUR_OBJECTS:
        names = ", ".join(sorted(name for _, name in objects - _OUR_OBJECTS))
        raise ForeignCacheFile(f"{path} is another program's database (holds {names})")


def _scalar(conn: sqlite3.Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row is not None else 0


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
