"""Where each effective setting came from: a default, the user file, the project file,
the environment, or a change made at run time.

The layers are read with the same functions the config itself uses
(`user_config_values()`, `project_config_values()`, the environment), so the attribution
cannot drift from what `get_config()` really loaded. Precedence is config.py's:
run time > environment > project file > user file > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aurelis.core.config import AurelisConfig, load_config
from aurelis.core.config_files import (
    ENV_PREFIX,
    TOKEN_VARIABLES,
    project_config_values,
    user_config_values,
)

__all__ = ["SettingSource", "setting_sources", "SECRET_SETTINGS"]

SourceKind = Literal["default", "user", "project", "env", "runtime"]

#: Settings whose values are credentials and must never be displayed.
SECRET_SETTINGS = frozenset({"token"})


@dataclass(frozen=True)
class SettingSource:
    """One setting's origin; `detail` is the variable name or the file path."""

    kind: SourceKind
    detail: str | None = None

    def __str__(self) -> str:
        labels = {
            "default": "default",
            "user": "user file",
            "project": "project file",
            "env": "environment",
            "runtime": "set at run time",
        }
        label = labels[self.kind]
        return f"{label} {self.detail}" if self.detail else label


def setting_sources(config: AurelisConfig | None = None) -> dict[str, SettingSource]:
    """The source of every setting, in field order.

    With `config` (normally the live `get_config()`), values that differ from what the
    layers produce are reported as set at run time (e.g. by `config.update` or the LSP).
    """
    user_values, user_path = user_config_values()
    project_values, project_path = project_config_values()
    environment = {name.upper(): name for name in os.environ}
    loaded = load_config() if config is not None else None
    sources: dict[str, SettingSource] = {}
    for name in AurelisConfig.model_fields:
        if loaded is not None and _differs(config, loaded, name):
            sources[name] = SettingSource("runtime")
            continue
        sources[name] = _layer_source(
            name, environment, (project_values, project_path), (user_values, user_path)
        )
    return sources


def _layer_source(
    name: str,
    environment: dict[str, str],
    project: tuple[dict[str, Any], Path | None],
    user: tuple[dict[str, Any], Path | None],
) -> SettingSource:
    for variable in _env_names(name):
        if variable.upper() in environment and os.environ[environment[variable.upper()]].strip():
            return SettingSource("env", variable)
    for kind, (values, path) in (("project", project), ("user", user)):
        if name in values:
            return SettingSource(kind, str(path))  # type: ignore[arg-type]
    if name == "token_source":
        # Derived from wherever the token came from.
        for kind, (values, path) in (("project", project), ("user", user)):
            if "token" in values:
                return SettingSource(kind, str(path))  # type: ignore[arg-type]
    return SettingSource("default")


def _env_names(name: str) -> tuple[str, ...]:
    if name == "token":
        return TOKEN_VARIABLES
    if name == "token_source":
        # Set alongside a token read from the environment.
        return TOKEN_VARIABLES
    return (f"{ENV_PREFIX}{name.upper()}",)


def _differs(live: AurelisConfig | None, loaded: AurelisConfig, name: str) -> bool:
    if live is None:
        return False
    return bool(getattr(live, name) != getattr(loaded, name))
