"""Settings: one validated, mutable object that every part reads live.

Precedence, highest first: explicit values (constructor arguments or attribute
assignment) > LSP settings > environment (`AURELIS_*`, `GITHUB_TOKEN`) > project file
(`[tool.aurelis]` in pyproject.toml, or `.aurelis.toml`) > user file (config.toml in the
platformdirs config dir) > defaults.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from aurelis.core.config_files import (
    ENV_PREFIX,
    SELECTED_LAYERS,
    TOKEN_VARIABLES,
    TokenEnvSource,
    TomlSource,
    drop_ignored_variables,
    project_config_values,
    user_config_path,
    user_config_values,
)
from aurelis.core.endpoint_url import checked_endpoint
from aurelis.core.exceptions import ConfigurationError
from aurelis.core.names import ModelType, TaskType
from aurelis.core.redis_url import redact_url, url_problem, url_secrets
from aurelis.core.secrets import register_secret

__all__ = [
    "AurelisConfig",
    "config_in_force",
    "get_config",
    "reset_config",
    "load_config",
    "user_config_path",
    "LEGACY_GITHUB_MODELS_ENDPOINT",
    "TOKEN_VARIABLES",
]

LEGACY_GITHUB_MODELS_ENDPOINT = "https://models.github.ai/inference"
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
    #: Prompts are counted with cl100k; other tokenizers count more (gemma 1.5x): a count
    #: is multiplied by this before it meets a context window, unless the server told us
    #: its own ratio (docs/endpoints.md).
    token_count_margin: float = Field(1.25, ge=1.0, le=4.0)
    #: Output tokens per task when a request names none, over the defaults
    #: (routing.DEFAULT_TASK_OUTPUT_TOKENS); and per model, its output limit over the catalog's.
    task_output_tokens: dict[TaskType, int] = Field(default_factory=dict)
    model_output_tokens: dict[ModelType, int] = Field(default_factory=dict)

    # --- local model ------------------------------------------------------------------
    local_model_path: Path | None = None
    local_context_size: int = Field(4096, ge=512)
    local_threads: int | None = Field(None, ge=1)
    local_fallback: bool = True
    #: When to load the local model: "auto" at start-up if inline completions route to it,
    #: else when a fallback chain first needs it; "always" at start-up; "never" ahead of use.
    local_preload: Literal["auto", "always", "never"] = "auto"
    #: Seconds of each request's deadline kept for the local model when it ends the chain
    #: (a cold load and a short answer; docs/endpoints.md says how this was measured).
    local_reserve: float = Field(15.0, ge=0)
    #: A request still waiting on a remote model after this many seconds starts loading
    #: the local model in the background (unless local_preload is "never").
    local_warmup_after: float = Field(5.0, ge=0)

    # --- inline completion (docs/inline.md) -------------------------------------------
    #: The local model's prompt: at most this many lines / its own tokens before the cursor.
    inline_local_prefix_lines: int = Field(64, ge=1)
    inline_local_prefix_tokens: int = Field(320, ge=16)
    #: The window starts on a multiple of this many lines, so it stays put while typing.
    inline_window_align_lines: int = Field(16, ge=1)
    #: Generation on the local model stops after this long (prompt evaluation included):
    #: invoked and speculative completions, and automatic ones while typing.
    inline_local_time_limit_ms: int = Field(1000, ge=50)
    inline_local_typing_time_limit_ms: int = Field(250, ge=50)
    #: Inline completions from a remote model end after this long: the editor gets an empty
    #: result (ghost text that arrives after the user typed on is useless) and the call is
    #: cancelled upstream instead of waiting out `deadline`. Automatic requests (while
    #: typing) and invoked ones (asked for, so worth waiting a little longer).
    inline_deadline_ms: int = Field(2000, ge=100)
    inline_invoked_deadline_ms: int = Field(5000, ge=100)
    #: Compute the next suggestion (after accepting the shown one) in the background:
    #: "local" only on the embedded model (a remote call would spend rate limit on a
    #: guess), "always" on remote models too (never taking the last free slot), "never".
    inline_speculation: Literal["local", "always", "never"] = "local"
    #: Send inline completions to these models as fill-in-the-middle in the dialect of their
    #: server: "openai" (/v1/completions + suffix: vLLM, llama-cpp-python, Ollama),
    #: "llama_cpp" (/infill), "mistral" (/v1/fim/completions, Codestral). Others get chat.
    inline_fim: dict[ModelType, Literal["openai", "llama_cpp", "mistral"]] = Field(
        default_factory=dict
    )
    #: Seconds after an accepted suggestion at which the server measures how much of it is
    #: still in the document (the early and the final retention check; docs/telemetry.md).
    suggestion_retention_checks: tuple[float, float] = (30.0, 120.0)

    # --- repository retrieval (docs/inline.md, "Repository context") -------------------
    #: A model at the endpoint whose embeddings route ranks the index's chunks by meaning,
    #: fused with BM25 for code actions. None (the default): BM25 alone, nothing more sent.
    retrieval_embeddings_model: str | None = Field(None, min_length=1, max_length=200)

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

    # --- team scale: state shared through Redis (docs/team.md) ------------------------------
    #: Sensitive setting (trust): it decides where request keys, answers and counts go, and
    #: the URL is a credential (shown masked everywhere). Unset: all state stays in-process.
    redis_url: SecretStr | None = None
    #: Daily token budgets (UTC) per model name and "total", e.g. {"gpt-4o": 200000}.
    budgets: dict[str, int] = Field(default_factory=dict)

    # --- telemetry exporters (docs/telemetry.md); off unless set -----------------------------
    #: Serve Prometheus metrics on 127.0.0.1:<port>/metrics (AURELIS_METRICS_PORT).
    metrics_port: int | None = Field(None, ge=1, le=65535)
    #: Export traces and metrics over OTLP/HTTP; also on when the standard
    #: OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) variable is set.
    otlp_endpoint: str | None = None

    @field_validator("redis_url")
    @classmethod
    def _usable_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        url = value.get_secret_value() if value is not None else ""
        if not url:
            return None
        problem = url_problem(url)
        if problem is not None:
            raise ValueError(problem)
        for secret in url_secrets(url):
            register_secret(secret)  # masked in every log line and error from now on
        return value

    @field_validator("budgets")
    @classmethod
    def _budget_names(cls, value: dict[str, int]) -> dict[str, int]:
        names = sorted(model.value for model in ModelType if model is not ModelType.LOCAL)
        unknown = set(value) - {*names, "total"}
        if unknown:
            raise ValueError(f"budget names among {[*names, 'total']}")
        if any(tokens < 1 for tokens in value.values()):
            raise ValueError("budgets of at least 1 token")
        return value

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

    @field_validator("token")
    @classmethod
    def _mask_token_everywhere(cls, value: SecretStr | None) -> SecretStr | None:
        # Known to redaction as soon as it is read (env, file, LSP settings), so even the
        # first prompt, built before any provider exists, cannot carry it.
        if value is not None:
            register_secret(value.get_secret_value())
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http_url(cls, value: str) -> str:
        return checked_endpoint(value)

    @field_validator("context_windows")
    @classmethod
    def _positive_windows(cls, value: dict[ModelType, int]) -> dict[ModelType, int]:
        # A zero or negative window used to be accepted and silently reroute every request.
        if any(size < 1 for size in value.values()):
            raise ValueError("window sizes of at least 1 token")
        return value

    @field_validator("task_output_tokens", "model_output_tokens")
    @classmethod
    def _positive_output_caps(cls, value: dict[Any, int]) -> dict[Any, int]:
        if any(tokens < 1 for tokens in value.values()):
            raise ValueError("output caps of at least 1 token")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise _configuration_error(error) from None
        except SettingsError as error:  # an environment value that is not valid JSON
            raise environment_error(error) from None

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
        drop_ignored_variables(env_settings)
        layers = {
            "env": (env_settings, TokenEnvSource(settings_cls)),
            "project": (TomlSource(settings_cls, project_config_values, "project"),),
            "user": (TomlSource(settings_cls, user_config_values, "user"),),
        }
        chosen = SELECTED_LAYERS.get()  # all, unless config_layers checks them one by one
        picked = [
            source for name, sources in layers.items() if name in chosen for source in sources
        ]
        return (init_settings, *picked)

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


def _configuration_error(error: ValidationError) -> ConfigurationError:
    problem = error.errors()[0]
    parts = [str(part) for part in problem.get("loc", ()) if part != "[key]"]
    key = ".".join(parts) or "settings"
    value = problem.get("input")
    if "token" in key:
        value = "***"
    elif key == "redis_url":
        value = redact_url(str(value))
    expected = _describe_expected(problem)
    message = f"invalid setting {key}={_short(value)}: expected {expected}"
    return ConfigurationError(message, key=key)


def environment_error(error: SettingsError) -> ConfigurationError:
    """pydantic-settings' "error parsing value for field X" as our message, naming the
    variable (its value is not shown: it may be a secret)."""
    match = re.search(r'field "(\w+)"', str(error))
    variable = f"{ENV_PREFIX}{match.group(1).upper()}" if match else "an AURELIS_* variable"
    return ConfigurationError(
        f'invalid setting {variable}: expected JSON (e.g. {{"gpt-4o": "my-deployment"}})',
        key=match.group(1) if match else None,
        hint=f"fix or unset {variable}",
    )


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
#: The settings of the request being handled (its workspace root's), when not the
#: process-wide ones: see `config_in_force`.
_in_force: contextvars.ContextVar[AurelisConfig | None] = contextvars.ContextVar(
    "aurelis_config_in_force", default=None
)


def load_config(**explicit: Any) -> AurelisConfig:
    """Build a fresh settings object from all sources plus `explicit` values."""
    return AurelisConfig(**explicit)


def get_config() -> AurelisConfig:
    """The settings in force: the request's own (`config_in_force`), else the process-wide
    settings object, which the orchestrator reads live."""
    scoped = _in_force.get()
    if scoped is not None:
        return scoped
    global _config
    if _config is None:
        with _config_lock:
            if _config is None:
                _config = load_config()
    return _config


@contextlib.contextmanager
def config_in_force(config: AurelisConfig | None) -> Iterator[None]:
    """Within this block (this task, and the tasks and threads it starts), `get_config()`
    is `config`: a language server serves each workspace root with that root's settings."""
    token = _in_force.set(config)
    try:
        yield
    finally:
        _in_force.reset(token)


def reset_config(config: AurelisConfig | None = None) -> AurelisConfig:
    """Replace the process-wide settings (tests, `didChangeConfiguration`)."""
    global _config
    with _config_lock:
        _config = config if config is not None else load_config()
    return _config
