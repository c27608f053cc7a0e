"""Trusting and untrusting a project by folder: what `aurelis trust` and the editors'
Trust Project commands share (the store and the rules are in `core.trust`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aurelis.core.config_files import flatten_sections, project_config_path
from aurelis.core.exceptions import ConfigurationError
from aurelis.core.trust import ProjectFile, TrustStore, read_project_file
from aurelis.core.trust_policy import untrusted_part

__all__ = ["TrustedProject", "settings_file_for", "trust_project", "untrust_project"]

_SETTINGS_NAMES = (".aurelis.toml", "pyproject.toml")


@dataclass(frozen=True)
class TrustedProject:
    """A project just trusted, and the sensitive settings that now apply from it."""

    project: ProjectFile
    sensitive: tuple[str, ...]


def settings_file_for(path: Path) -> Path | None:
    """The settings file that governs `path` (a folder, or the settings file itself)."""
    if path.is_file() and path.name in _SETTINGS_NAMES:
        return path.resolve()
    found = project_config_path(path)
    return found.resolve() if found is not None else None


def trust_project(path: Path, store: TrustStore | None = None) -> TrustedProject:
    """Record trust in the settings governing `path`, as they are on disk now."""
    settings_file = settings_file_for(path)
    if settings_file is None:
        raise ConfigurationError(
            f"no project settings at or above {path}",
            hint="a project sets Aurelis options in .aurelis.toml or [tool.aurelis] of "
            "pyproject.toml; there is nothing to trust",
        )
    project = read_project_file(settings_file)
    (store or TrustStore()).trust(project)
    _, sensitive = untrusted_part(flatten_sections(project.table), {})
    return TrustedProject(project, tuple(sensitive))


def untrust_project(path: Path, store: TrustStore | None = None) -> Path | None:
    """Forget trust in the project at `path`; the settings file forgotten, or None."""
    store = store or TrustStore()
    candidates = [settings_file_for(path)]
    folder = path.absolute()
    candidates += [folder / name for name in _SETTINGS_NAMES]  # the file may be gone
    for candidate in candidates:
        if candidate is not None and store.untrust(candidate):
            return candidate
    return None
