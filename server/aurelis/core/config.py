"""Settings: one validated, mutable object that every part reads live.

Precedence, highest first: explicit values (constructor arguments or attribute
assignment) > LSP settings > environment (`AURELIS_*`, `GITHUB_TOKEN`) > project file
(`[tool.aurelis]` in pyproject.toml, or `.aurelis.toml`) > user file (config.toml in the
platformdirs config dir) > defaults.
"""

from __future__ import annotations

import os
import threading
import tomllib
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from aurelis.core.exceptions import ConfigurationError
from aurelis.models.types import ModelType, TaskType

__all__ = [
    "AurelisConfig",
    "get_config",
    "reset_config",
    "load_config",
    "user_config_path",
    "LEGACY_GITHUB_MODELS_ENDPOINT",
    "TOKEN_VARIABLES",
]

LEGACY_GITHUB_MODELS_ENDPOINT = "https://models.github.ai/inference"
#: Environment variables a token is read from, first match wins.
TOKEN_VARIABLES = ("AURELIS_TOKEN", "GITHUB_TOKEN")
ENV_PREFIX = "AURELIS_"
_RATE_LIMIT_KEYS = frozenset({"per_minute", "per_day", "concurrent"})


class AurelisConfig(BaseSettings):
    """Every setting Aurelis reads. Assigning a bad value raises ConfigurationError."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        validate_assignment=True,
        extra="forbid",
        case_sensitive=False,
    )

    # --- provider and endpoint --------------------------------------------------------
    provider: Literal["auto", "azure", "local"] = "auto"
    endpoint: str = LEGACY_GITHUB_MODELS_ENDPOINT
    token: SecretStr | None = None
    #: Name of the variable (or file) the token came from; used in error messages.
    token_source: str | None = None
    deployments: dict[ModelType, str] = Field(default_factory=dict)
    routing: dict[TaskType, ModelType] = Field(default_factory=dict)
    context_windows: dict[ModelType, int] = Field(default_factory=dict)
    connect_timeout: float = Field(10.0, gt=0)
    request_timeout: float = Field(60.0, gt=0)

    # --- local model ------------------------------------------------------------------
    local_model_path: Path | None = None
    local_context_size: int = Field(4096, ge=512)
    local_threads: int | None = Field(None, ge=1)
    local_fallback: bool = True

    # --- cache (names from the seed) -------------------------------------------------
    cache_enabled: bool = True
    cache_ttl: int = Field(1800, ge=0)
    cache_max_size: int = Field(1000, ge=0)
    persistent_cache: bool = False
    cache_dir: Path | None = None
    persistent_cache_max_mb: int = Field(64, ge=1)

    # --- resilience -----------------------------------------------------------------------
    deadline: float = Field(120.0, gt=0)
    max_retries: int = Field(2, ge=0)
    retry_after_cap: float = Field(60.0, ge=0)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_failure_ratio: float = Field(0.5, gt=0, le=1)
    breaker_window: float = Field(60.0, gt=0)
    breaker_min_requests: int = Field(10, ge=1)
    breaker_cooldown: float = Field(30.0, gt=0)
    fallback_chains: dict[ModelType, list[ModelType]] = Field(default_factory=dict)
    #: {model: {"per_minute": n, "per_day": n, "concurrent": n}}; a key set to None lifts
    #: that limit, a missing key keeps the model's tier value.
    rate_limits: dict[ModelType, dict[str, int | None]] = Field(default_factory=dict)
    rate_limit_mode: Literal["wait", "fail"] = "wait"
    #: Multiplies the per-minute and per-day windows (e.g. 0.05 makes "a minute" 3 s):
    #: for endpoints with shorter windows, and for tests that cannot wait a real minute.
    rate_limit_window_scale: float = Field(1.0, gt=0)
    retry_backoff_initial: float = Field(0.5, ge=0)
    retry_backoff_max: float = Field(8.0, ge=0)

    @field_validator("rate_limits")
    @classmethod
    def _rate_limit_keys(
        cls, value: dict[ModelType, dict[str, int | None]]
    ) -> dict[ModelType, dict[str, int | None]]:
        for limits in value.values():
            unknown = set(limits) - _RATE_LIMIT_KEYS
            if unknown:
                raise ValueError(f"limit names among {sorted(_RATE_LIMIT_KEYS)}")
            if any(v is not None and v < 1 for v in limits.values()):
                raise ValueError("limits of at least 1 (or None for no limit)")
        return value

    # --- logging -------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_file: Path | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise _configuration_error(error) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in type(self).model_fields and not name.startswith("_"):
            raise ConfigurationError(
                f"unknown setting {name}: expected a known setting name "
                "(see `aurelis config show`)",
                key=name,
            )
        try:
            super().__setattr__(name, value)
        except ValidationError as error:
            raise _configuration_error(error) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            _TokenEnvSource(settings_cls),
            _TomlSource(settings_cls, project_config_values),
            _TomlSource(settings_cls, user_config_values),
        )

    # --- derived facts ------------------------------------------------------------------
    @property
    def endpoint_is_configured(self) -> bool:
        """True when the user pointed Aurelis at an endpoint other than the retired default."""
        return self.endpoint != LEGACY_GITHUB_MODELS_ENDPOINT

    @property
    def remote_enabled(self) -> bool:
        """Whether requests may go to the remote endpoint at all."""
        if self.provider == "local":
            return False
        if self.provider == "azure":
            return True
        # auto: a token, or an explicitly configured endpoint (Ollama needs no token).
        return self.token is not None or self.endpoint_is_configured

    def update(self, values: dict[str, Any]) -> None:
        """Apply several settings at once; nothing changes if any of them is invalid."""
        candidate = self.model_copy(deep=True)
        for key, value in values.items():
            setattr(candidate, key, value)  # validates; raises ConfigurationError
        for key in values:
            object.__setattr__(self, key, getattr(candidate, key))

    @classmethod
    def defaults(cls) -> AurelisConfig:
        """Built-in defaults only: no environment, no files."""
        return cls.model_construct()


class _TokenEnvSource(PydanticBaseSettingsSource):
    """Reads the token from AURELIS_TOKEN or GITHUB_TOKEN and remembers which one."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        for variable in TOKEN_VARIABLES:
            value = os.environ.get(variable, "").strip()
            if value:
                return {"token": value, "token_source": variable}
        return {}


class _TomlSource(PydanticBaseSettingsSource):
    """A settings layer read from a TOML file (project or user)."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        reader: Callable[[], tuple[dict[str, Any], Path | None]],
    ) -> None:
        super().__init__(settings_cls)
        self._reader = reader

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values, path = self._reader()
        if values and "token" in values and "token_source" not in values:
            values = {**values, "token_source": str(path)}
        return values


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
    path = project_config_path(_project_root())
    if path is None:
        return {}, None
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("aurelis", {})
    return _flatten_sections(data), path


def user_config_values() -> tuple[dict[str, Any], Path | None]:
    path = user_config_path()
    if not path.is_file():
        return {}, None
    return _flatten_sections(_read_toml(path)), path


def _project_root() -> Path:
    root = os.environ.get("AURELIS_PROJECT_ROOT")
    return Path(root) if root else Path.cwd()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(
            f"cannot read config file {path}: {error}",
            hint="fix the TOML syntax or remove the file",
        ) from None


# Tables whose keys are settings themselves, so `[cache] ttl = 60` means cache_ttl.
_SECTION_PREFIXES = {"cache": "cache_", "local": "local_", "breaker": "breaker_"}


def _flatten_sections(data: dict[str, Any]) -> dict[str, Any]:
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


def _configuration_error(error: ValidationError) -> ConfigurationError:
    problem = error.errors()[0]
    parts = [str(part) for part in problem.get("loc", ()) if part != "[key]"]
    key = ".".join(parts) or "settings"
    value = problem.get("input")
    if "token" in key:
        value = "***"
    expected = _describe_expected(problem)
    message = f"invalid setting {key}={_short(value)}: expected {expected}"
    return ConfigurationError(message, key=key)


def _describe_expected(problem: Any) -> str:
    message = str(problem.get("msg", "")).removeprefix("Value error, ")
    if problem.get("type") == "extra_forbidden":
        return "a known setting name (see `aurelis config show`)"
    # pydantic says "Input should be X"; the key and value are already in our message.
    message = message.removeprefix("Input should be ").removeprefix("input should be ")
    return message or "a valid value"


def _short(value: object) -> str:
    text = repr(value.value if isinstance(value, Enum) else value)
    return text if len(text) <= 80 else text[:77] + "..."


_config: AurelisConfig | None = None
_config_lock = threading.Lock()


def load_config(**explicit: Any) -> AurelisConfig:
    """Build a fresh settings object from all sources plus `explicit` values."""
    return AurelisConfig(**explicit)


def get_config() -> AurelisConfig:
    """The process-wide settings object; the orchestrator reads it live."""
    global _config
    if _config is None:
        with _config_lock:
            if _config is None:
                _config = load_config()
    return _config


def reset_config(config: AurelisConfig | None = None) -> AurelisConfig:
    """Replace the process-wide settings (tests, `didChangeConfiguration`)."""
    global _config
    with _config_lock:
        _config = config if config is not None else load_config()
    return _config
