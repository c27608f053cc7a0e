"""Project trust, like direnv and mise: a project file's sensitive settings apply only
after the user trusts that project, and only while the file is what they trusted.

`aurelis trust` records the SHA-256 of the project's settings: the bytes of
`.aurelis.toml`, or for pyproject.toml the `[tool.aurelis]` table alone (canonical JSON),
so unrelated edits to pyproject.toml keep the trust and any edit of the settings loses it.
The record lives in a file of its own in the user's data directory (never the hand-edited
config.toml), 0600, replaced atomically and never read or written through a symlink.

Which settings are sensitive is `core.trust_policy`'s table. Where the language server
runs, the project roots come from the editor (`set_project_scope`), and VS Code's
restricted mode withholds every sensitive project setting whatever the store says.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import hashlib
import json
import os
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aurelis.core.exceptions import ConfigurationError
from aurelis.core.private_files import PRIVATE_MODE, UnsafeFileError, check_private
from aurelis.core.trust_policy import untrusted_part

__all__ = [
    "IgnoredSettings",
    "ProjectFile",
    "TrustState",
    "TrustStore",
    "UnsafeTrustStore",
    "admit_project_values",
    "project_roots",
    "project_scope",
    "read_project_file",
    "restricted_mode",
    "set_ignored_notifier",
    "set_project_scope",
    "trust_state",
    "trust_store_path",
]

TrustState = Literal["trusted", "untrusted", "restricted", "no-project-settings"]
Reason = Literal["untrusted", "changed", "restricted"]
_STORE_VERSION = 1
_DIRECTORY_MODE = 0o700


class UnsafeTrustStore(ConfigurationError):
    """The trust store is a symlink, not ours, or writable by others: it is not used."""


@dataclass(frozen=True)
class ProjectFile:
    """A project's settings as read once from disk: the raw table and its digest."""

    path: Path
    table: dict[str, Any]
    digest: str

    @property
    def root(self) -> Path:
        return self.path.parent


@dataclass(frozen=True)
class IgnoredSettings:
    """Sensitive settings of one project file that were not applied, and why."""

    project: ProjectFile
    names: tuple[str, ...]
    reason: Reason

    def message(self) -> str:
        names = ", ".join(self.names)
        where = self.project.path
        how = f"`aurelis trust {self.project.root}` (or the editor's Trust Project command)"
        if self.reason == "restricted":
            return (
                f"Aurelis: ignoring {names} from {where}: this workspace is in restricted "
                "mode; trust it in the editor first."
            )
        if self.reason == "changed":
            return (
                f"Aurelis: ignoring {names} from {where}: the file changed since you "
                f"trusted it. Review it, then run {how}."
            )
        return (
            f"Aurelis: ignoring {names} from {where}: this project is not trusted. "
            f"If you trust it, run {how}."
        )


# --- reading project settings ------------------------------------------------------------


def read_project_file(path: Path) -> ProjectFile:
    """Read `path` once; the digest covers exactly the settings that will be applied."""
    try:
        data = path.read_bytes()
        parsed = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as error:
        raise ConfigurationError(
            f"cannot read config file {path}: {error}",
            hint="fix the TOML syntax or remove the file",
        ) from None
    if path.name == "pyproject.toml":
        table = parsed.get("tool", {}).get("aurelis", {})
        table = table if isinstance(table, dict) else {}
        canonical = json.dumps(table, sort_keys=True, default=repr, separators=(",", ":"))
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        return ProjectFile(path.resolve(), table, digest)
    return ProjectFile(path.resolve(), parsed, hashlib.sha256(data).hexdigest())


# --- where the project layer comes from --------------------------------------------------


@dataclass
class _Scope:
    roots: tuple[Path, ...] | None = None
    restricted: bool = False


_scope = _Scope()
#: Roots for loads in this context only (one root's own settings: `project_scope`).
_scoped_roots: contextvars.ContextVar[tuple[Path, ...] | None] = contextvars.ContextVar(
    "aurelis_project_roots", default=None
)


def set_project_scope(roots: Iterable[Path] | None, *, restricted: bool = False) -> None:
    """Project roots given by an editor (None: the CLI's cwd / AURELIS_PROJECT_ROOT)."""
    _scope.roots = None if roots is None else tuple(roots)
    _scope.restricted = restricted


def project_roots(default: Path) -> tuple[Path, ...]:
    """Where project files are looked for, first one wins on conflicts."""
    scoped = _scoped_roots.get()
    if scoped is not None:
        return scoped
    return (default,) if _scope.roots is None else _scope.roots


@contextlib.contextmanager
def project_scope(roots: Iterable[Path]) -> Iterator[None]:
    """Within this block (this thread or task only), config loads read the project files
    of `roots` alone: one workspace root's settings, or none for the user's own."""
    token = _scoped_roots.set(tuple(roots))
    try:
        yield
    finally:
        _scoped_roots.reset(token)


def restricted_mode() -> bool:
    return _scope.restricted


# --- applying trust ----------------------------------------------------------------------


def _print_warning(ignored: IgnoredSettings) -> None:
    print(f"warning: {ignored.message().removeprefix('Aurelis: ')}", file=sys.stderr, flush=True)


_notify: Callable[[IgnoredSettings], None] = _print_warning
_notified: set[tuple[Path, str, Reason, tuple[str, ...]]] = set()
_notify_lock = threading.Lock()


def set_ignored_notifier(notify: Callable[[IgnoredSettings], None] | None) -> None:
    """Who hears about withheld settings (the language server shows a message)."""
    global _notify
    _notify = notify or _print_warning
    with _notify_lock:
        _notified.clear()


def admit_project_values(
    project: ProjectFile, values: Mapping[str, Any], lower_routing: Mapping[str, Any]
) -> dict[str, Any]:
    """The settings of `project` that apply; tells the notifier once about the rest."""
    if not restricted_mode() and TrustStore().trusted_digest(project.path) == project.digest:
        return dict(values)
    allowed, withheld = untrusted_part(values, lower_routing)
    if withheld:
        _tell(IgnoredSettings(project, tuple(withheld), _reason(project)))
    return allowed


def _reason(project: ProjectFile) -> Reason:
    if restricted_mode():
        return "restricted"
    return "untrusted" if TrustStore().trusted_digest(project.path) is None else "changed"


def _tell(ignored: IgnoredSettings) -> None:
    key = (ignored.project.path, ignored.project.digest, ignored.reason, ignored.names)
    with _notify_lock:
        if key in _notified:
            return  # one warning per file version, however often the config is loaded
        _notified.add(key)
    _notify(ignored)


def trust_state(settings_file: Path | None) -> TrustState:
    """What an editor shows for a root whose project settings file is `settings_file`."""
    if settings_file is None:
        return "no-project-settings"
    if restricted_mode():
        return "restricted"
    try:
        project = read_project_file(settings_file)
        recorded = TrustStore().trusted_digest(project.path)
    except ConfigurationError:
        return "untrusted"
    return "trusted" if recorded == project.digest else "untrusted"


# --- the store ---------------------------------------------------------------------------


def trust_store_path() -> Path:
    """The trust store: its own file in the user's data directory (platformdirs)."""
    import platformdirs  # on first use: the language server starts without it

    return Path(platformdirs.user_data_dir("aurelis")) / "trusted-projects.json"


class TrustStore:
    """`{settings file path: {digest, trusted_at}}`, read and written safely."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or trust_store_path()

    def entries(self) -> dict[str, dict[str, Any]]:
        """Every recorded project; an unsafe store raises, a missing one is empty."""
        data = _read_private(self.path)
        if data is None:
            return {}
        try:
            parsed = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}  # a damaged store trusts nothing; `aurelis trust` rewrites it
        projects = parsed.get("projects") if isinstance(parsed, dict) else None
        if not isinstance(projects, dict):
            return {}
        return {k: v for k, v in projects.items() if isinstance(v, dict)}

    def trusted_digest(self, settings_file: Path) -> str | None:
        try:
            entry = self.entries().get(str(settings_file))
        except UnsafeTrustStore:
            return None  # reported by `aurelis trust --list`; trusting nothing is safe
        digest = entry.get("sha256") if entry else None
        return digest if isinstance(digest, str) else None

    def trust(self, project: ProjectFile) -> None:
        entries = self.entries()
        entries[str(project.path)] = {
            "sha256": project.digest,
            "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self._write(entries)

    def untrust(self, settings_file: Path) -> bool:
        entries = self.entries()
        if entries.pop(str(settings_file), None) is None:
            return False
        self._write(entries)
        return True

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        text = json.dumps({"version": _STORE_VERSION, "projects": entries}, indent=2)
        _write_private_atomically(self.path, text.encode("utf-8") + b"\n")


def _read_private(path: Path) -> bytes | None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeTrustStore(
                f"the trust store {path} is a symbolic link; Aurelis does not use it",
                hint=f"remove {path} and trust your projects again",
            ) from None
        raise UnsafeTrustStore(f"cannot read the trust store {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        try:
            check_private(handle.fileno(), path, repair=False)
        except UnsafeFileError as error:
            raise UnsafeTrustStore(
                f"the trust store {error.strerror}; Aurelis does not use it",
                hint=f"make it yours with `chmod 600 {path}`, or remove it and trust again",
            ) from None
        return handle.read()


def _write_private_atomically(path: Path, data: bytes) -> None:
    """Write a sibling file we create (O_EXCL, 0600), then rename it over `path`.

    The rename replaces whatever is at `path` (a planted symlink included) instead of
    writing through it, and readers see the old store or the new one, never half.
    """
    path.parent.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
