"""Where settings come from outside the program: the environment's token variables and
the TOML files (user config.toml, the project's `.aurelis.toml` or `[tool.aurelis]`).

`core.config` layers these sources; this module only finds, reads and flattens them, with
a project's sensitive settings admitted only from projects the user trusts (`core.trust`).
"""

from __future__ import annotations

import contextvars
import json
import os
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import platformdirs
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from aurelis.core.exceptions import ConfigurationError
from aurelis.core.safe_read import UnreadableFile, read_regular_file
from aurelis.core.trust import admit_project_values, project_roots, read_project_file

__all__ = [
    "ALL_LAYERS",
    "ENV_PREFIX",
    "IGNORED_SETTINGS",
    "MAX_CONFIG_FILE_BYTES",
    "SELECTED_LAYERS",
    "TOKEN_VARIABLES",
    "TokenEnvSource",
    "TomlSource",
    "drop_ignored_variables",
    "flatten_sections",
    "project_config_path",
    "project_config_values",
    "project_root",
    "user_config_path",
    "user_config_values",
]

#: Environment variables a token is read from, first match wins.
TOKEN_VARIABLES = ("AURELIS_TOKEN", "GITHUB_TOKEN")
ENV_PREFIX = "AURELIS_"
#: A config file larger than this is not a config file.
MAX_CONFIG_FILE_BYTES = 1024 * 1024
#: The layers settings are read from (all by default; `config_layers` checks them singly).
ALL_LAYERS = frozenset({"env", "project", "user"})
SELECTED_LAYERS: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "aurelis_config_layers", default=ALL_LAYERS
)
#: (layer, setting) pairs left out while loading: `config_layers` drops bad values this way.
IGNORED_SETTINGS: contextvars.ContextVar[frozenset[tuple[str, str]]] = contextvars.ContextVar(
    "aurelis_ignored_settings", default=frozenset()
)


def drop_ignored_variables(env_settings: PydanticBaseSettingsSource) -> None:
    # pydantic-settings' EnvSettingsSource keeps the variables it read in `env_vars`
    # (lower-case names); a value being ignored must not even be parsed.
    names = {
        f"{ENV_PREFIX}{key}".lower() for layer, key in IGNORED_SETTINGS.get() if layer == "env"
    }
    variables = getattr(env_settings, "env_vars", None)
    if names and isinstance(variables, dict):
        env_settings.env_vars = {k: v for k, v in variables.items() if k.lower() not in names}  # type: ignore[attr-defined]


class TokenEnvSource(PydanticBaseSettingsSource):
    """Reads the token from AURELIS_TOKEN or GITHUB_TOKEN and remembers which one."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        for variable in TOKEN_VARIABLES:
            value = os.environ.get(variable, "").strip()
            if value:
                return {"token": value, "token_source": variable}
        return {}


class TomlSource(PydanticBaseSettingsSource):
    """A settings layer read from a TOML file (project or user)."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        reader: Callable[[], tuple[dict[str, Any], Path | None]],
        layer: str = "",
    ) -> None:
        super().__init__(settings_cls)
        self._reader = reader
        self._layer = layer

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values, path = self._reader()
        if values and "token" in values and "token_source" not in values:
            values = {**values, "token_source": str(path)}
        ignored = {key for layer, key in IGNORED_SETTINGS.get() if layer == self._layer}
        return {key: value for key, value in values.items() if key not in ignored}


def user_config_path() -> Path:
    """Where the user's own config.toml lives (platformdirs)."""
    override = os.environ.get("AURELIS_CONFIG_FILE")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("aurelis")) / "config.toml"


def project_config_path(start: Path | None = None) -> Path | None:
    """The nearest `.aurelis.toml`, or pyproject.toml with `[tool.aurelis]`, from `start` up."""
    directory = (start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        dedicated = folder / ".aurelis.toml"
        if dedicated.is_file():
            return dedicated
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "aurelis" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def project_config_values() -> tuple[dict[str, Any], Path | None]:
    """The project layer: each project root's settings file (the first root wins a
    conflict), sensitive settings only from projects the user trusts (core.trust)."""
    merged: dict[str, Any] = {}
    first: Path | None = None
    seen: set[Path] = set()
    for root in project_roots(project_root()):
        path = project_config_path(root)
        if path is None or path.resolve() in seen:
            continue
        project = read_project_file(path)
        seen.add(project.path)
        values = flatten_sections(project.table)
        values = admit_project_values(project, values, _routing_below_project())
        merged = {**values, **merged}
        first = first or path
    return merged, first


def _routing_below_project() -> dict[str, Any]:
    # The user's own routing (file, then environment): what a project route would replace.
    routing = dict(user_config_values()[0].get("routing") or {})
    try:
        routing.update(json.loads(os.environ.get(f"{ENV_PREFIX}ROUTING", "") or "{}"))
    except (ValueError, TypeError):
        pass  # the environment source reports a malformed value itself
    return routing


def user_config_values() -> tuple[dict[str, Any], Path | None]:
    path = user_config_path()
    if not path.exists():
        return {}, None
    if not path.is_file():
        # A directory or a FIFO named as the config is a mistake worth saying out loud:
        # ignoring it would run with settings the user believes are elsewhere.
        raise ConfigurationError(
            f"cannot read config file: {path} is {_file_kind(path)}, not a regular file",
            hint="point AURELIS_CONFIG_FILE at a TOML file, or unset it",
        )
    return flatten_sections(_read_toml(path)), path


def _file_kind(path: Path) -> str:
    mode = path.stat().st_mode
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def project_root() -> Path:
    root = os.environ.get("AURELIS_PROJECT_ROOT")
    return Path(root) if root else Path.cwd()


def _read_toml(path: Path) -> dict[str, Any]:
    # Bounded and regular files only (a FIFO or /dev/zero named as the config never hangs);
    # binary, non-UTF-8 and absurdly nested files are configuration errors, not tracebacks.
    try:
        data: dict[str, Any] = tomllib.loads(
            read_regular_file(path, MAX_CONFIG_FILE_BYTES).decode("utf-8")
        )
        return data
    except UnreadableFile as error:
        problem = error.message
    except UnicodeDecodeError as error:
        problem = f"{path} is not UTF-8 text (byte {error.start})"
    except RecursionError:
        problem = f"{path} nests values too deeply"
    except tomllib.TOMLDecodeError as error:
        problem = f"{path}: {error}"
    raise ConfigurationError(
        f"cannot read config file: {problem}", hint="fix the TOML syntax or remove the file"
    )


# Tables whose keys are settings themselves, so `[cache] ttl = 60` means cache_ttl.
_SECTION_PREFIXES = {
    "cache": "cache_",
    "local": "local_",
    "breaker": "breaker_",
    "inline": "inline_",
}


def flatten_sections(data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        prefix = _SECTION_PREFIXES.get(key)
        if prefix and isinstance(value, dict):
            for inner, inner_value in value.items():
                name = inner if inner.startswith(prefix) else prefix + inner
                flat[name.replace("-", "_")] = inner_value
        else:
            flat[key.replace("-", "_")] = value
    return flat
