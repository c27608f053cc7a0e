"""Which settings a project file may set before the user trusts that project.

A repository someone else wrote can carry `.aurelis.toml` or `[tool.aurelis]`. Settings
that decide where data goes, or what is read, written or loaded, are *sensitive*: a
project file sets them only once the user has trusted the project (`aurelis trust`).
*Harmless* settings (deployment names, limits, timeouts, prompts) apply from any project.
*Routing* settings are sensitive only where they would move a task from the local model
to a remote one; routing among remote models the user already reaches is harmless.

Every setting of `AurelisConfig` has exactly one entry here (a test fails otherwise), and
docs/security.md shows the same table. A standard-library leaf: `core.config` uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "HARMLESS",
    "ROUTING",
    "SENSITIVE",
    "SETTING_TRUST",
    "SettingTrust",
    "untrusted_part",
]

Level = Literal["sensitive", "harmless", "routing"]
SENSITIVE: Level = "sensitive"
HARMLESS: Level = "harmless"
ROUTING: Level = "routing"
_LOCAL = "local"


@dataclass(frozen=True)
class SettingTrust:
    """One setting's class and why it has it (shown in docs/security.md)."""

    level: Level
    reason: str


def _sensitive(reason: str) -> SettingTrust:
    return SettingTrust(SENSITIVE, reason)


def _harmless(reason: str) -> SettingTrust:
    return SettingTrust(HARMLESS, reason)


SETTING_TRUST: Mapping[str, SettingTrust] = MappingProxyType(
    {
        "provider": _sensitive("chooses between the local model and a remote endpoint"),
        "endpoint": _sensitive("where prompts (your code) and the token are sent"),
        "token": _sensitive("the credential sent with every request"),
        "token_source": _sensitive("where the token is said to come from"),
        "redis_url": _sensitive("a server that receives shared cache entries and counters"),
        "deployments": _harmless("names of models at the endpoint you configured"),
        "routing": SettingTrust(
            ROUTING, "sensitive where it moves a task from the local model to a remote one"
        ),
        "fallback_chains": SettingTrust(
            ROUTING, "sensitive where a chain moves work from the local model to a remote one"
        ),
        "context_windows": _harmless("a size limit"),
        "connect_timeout": _harmless("a time limit"),
        "request_timeout": _harmless("a time limit"),
        "token_count_margin": _harmless("a size limit"),
        "task_output_tokens": _harmless("a size limit"),
        "model_output_tokens": _harmless("a size limit"),
        "local_model_path": _sensitive("a file loaded and executed as a model"),
        "local_context_size": _harmless("a size limit"),
        "local_threads": _harmless("a resource limit"),
        "local_fallback": _harmless("whether the local model is the last resort; sends nothing"),
        "local_preload": _harmless("when the local model loads (not which one); sends nothing"),
        "local_reserve": _harmless("a time limit"),
        "local_warmup_after": _harmless(
            "when the local model loads (not which one); sends nothing"
        ),
        "inline_local_prefix_lines": _harmless("a size limit"),
        "inline_local_prefix_tokens": _harmless("a size limit"),
        "inline_window_align_lines": _harmless("a size limit"),
        "inline_local_time_limit_ms": _harmless("a time limit"),
        "inline_local_typing_time_limit_ms": _harmless("a time limit"),
        "inline_deadline_ms": _harmless("a time limit"),
        "inline_invoked_deadline_ms": _harmless("a time limit"),
        "inline_fim": _harmless(
            "the request format at the endpoint you configured; same code sent"
        ),
        "suggestion_retention_checks": _harmless("a time limit; counts stay on this machine"),
        "inline_speculation": _harmless(
            "extra local or remote calls for the same code; sends nothing new"
        ),
        "retrieval_embeddings_model": _sensitive(
            "sends every indexed chunk of the repository to the endpoint's embeddings route"
        ),
        "cache_enabled": _harmless("in-memory caching of answers"),
        "cache_ttl": _harmless("a time limit"),
        "cache_max_size": _harmless("a size limit"),
        "persistent_cache": _sensitive("whether prompts and answers are written to disk"),
        "cache_dir": _sensitive("where files are written"),
        "persistent_cache_max_mb": _harmless("a size limit"),
        "deadline": _harmless("a time limit"),
        "max_retries": _harmless("a limit"),
        "retry_after_cap": _harmless("a time limit"),
        "breaker_failure_threshold": _harmless("a limit"),
        "breaker_failure_ratio": _harmless("a limit"),
        "breaker_window": _harmless("a time limit"),
        "breaker_min_requests": _harmless("a limit"),
        "breaker_cooldown": _harmless("a time limit"),
        "rate_limits": _harmless("limits"),
        "budgets": _harmless("daily token limits; sends nothing"),
        "rate_limit_mode": _harmless("wait or fail at a limit"),
        "rate_limit_window_scale": _harmless("a time limit"),
        "retry_backoff_initial": _harmless("a time limit"),
        "retry_backoff_max": _harmless("a time limit"),
        "metrics_port": _sensitive("opens a port that serves request and suggestion metrics"),
        "otlp_endpoint": _sensitive("where traces and metrics are sent"),
        "log_level": _sensitive("how much (prompts included, at DEBUG) is written to the log"),
        "log_file": _sensitive("where files are written"),
    }
)


def untrusted_part(
    values: Mapping[str, Any], lower_routing: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Split project `values` into (what applies untrusted, names of what needs trust).

    `lower_routing` is the routing the user set below the project layer (user file,
    environment), to tell whether a project route moves a task off the local model.
    Unknown names pass through: validation reports them like any other typo.
    """
    allowed: dict[str, Any] = {}
    withheld: list[str] = []
    for name, value in values.items():
        trust = SETTING_TRUST.get(name)
        if trust is None or trust.level == HARMLESS:
            allowed[name] = value
        elif trust.level == SENSITIVE:
            withheld.append(name)
        else:
            kept, refused = _split_routing(name, value, lower_routing)
            if kept is not None:
                allowed[name] = kept
            withheld.extend(f"{name}.{key}" for key in refused)
    return allowed, withheld


def _split_routing(
    name: str, value: Any, lower_routing: Mapping[str, Any]
) -> tuple[Any, list[str]]:
    if not isinstance(value, Mapping):
        return value, []  # not a table: validation rejects it with a clear message
    kept: dict[str, Any] = {}
    refused: list[str] = []
    for key, target in value.items():
        moves_off = (
            _moves_task_off_local(key, target, lower_routing)
            if name == "routing"
            else _chain_leaves_local(key, target)
        )
        if moves_off:
            refused.append(str(key))
        else:
            kept[key] = target
    return kept, refused


def _is_local(model: Any) -> bool:
    return str(getattr(model, "value", model)).strip().lower() == _LOCAL


def _moves_task_off_local(task: Any, model: Any, lower_routing: Mapping[str, Any]) -> bool:
    # Every built-in route is remote (a test pins that), so a task runs locally below the
    # project layer only where the user routed it to the local model themselves.
    below = {str(getattr(k, "value", k)).lower(): v for k, v in lower_routing.items()}
    was_local = _is_local(below.get(str(getattr(task, "value", task)).lower(), ""))
    return was_local and not _is_local(model)


def _chain_leaves_local(primary: Any, chain: Any) -> bool:
    if not _is_local(primary):
        return False  # the work already goes remote; falling back among remotes is harmless
    models = chain if isinstance(chain, list | tuple) else [chain]
    return any(not _is_local(model) for model in models)
