"""The `aurelis` settings section (initializationOptions, workspace/configuration and
didChangeConfiguration) mapped onto the live config and the server's own settings.

Keys as the VS Code extension sends them, nested (`{"inlineCompletion": {"debounceMs": 150}}`)
or dotted (`{"inlineCompletion.debounceMs": 150}`):

    endpoint, provider, models.routing, cache.enabled,
    inlineCompletion.enabled, inlineCompletion.debounceMs, inlineCompletion.temperature,
    index.enabled, index.openFilesOnly, index.exclude (globs),
    context.acrossRoots (a request may draw context from every workspace folder)

A setting the user removes falls back to what the environment and config files say
(LSP settings sit above them in the precedence). An invalid setting is reported by name
and the previous value stays in force; the others still apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aurelis.core.exceptions import ConfigurationError
from aurelis.core.secrets import redact
from aurelis.lsp.live_config import get_config
from aurelis.lsp.protocol.lsp_any import plain
from aurelis.lsp.workspace.indexes import IndexSettings

if TYPE_CHECKING:
    from aurelis.core.config import AurelisConfig

__all__ = ["ServerSettings", "SettingsManager", "SECTION"]

SECTION = "aurelis"

#: Client setting → AurelisConfig field.
_CONFIG_FIELDS = {
    "endpoint": "endpoint",
    "provider": "provider",
    "models.routing": "routing",
    "cache.enabled": "cache_enabled",
}
_MISSING = object()
_MAX_DEBOUNCE_MS = 10_000


@dataclass(frozen=True)
class ServerSettings:
    """Settings the language server itself uses."""

    inline_enabled: bool = True
    #: Delay before an automatic inline completion calls the model (none when invoked).
    debounce_ms: int = 150
    #: Sampling temperature of inline completions: greedy (0) unless the user sets one.
    inline_temperature: float = 0.0
    #: Prompt budget of an inline completion: prefix ≤ 60 %, suffix ≤ 20 %, context the rest.
    inline_prompt_tokens: int = 1536
    #: Prompt budget of an editor action (the legacy free tier accepted 8K tokens in).
    action_prompt_tokens: int = 6000
    #: The repository index behind every prompt.
    index: IndexSettings = IndexSettings()
    #: Whether a request's context may come from other workspace folders than its own.
    context_across_roots: bool = False


def _lookup(section: Mapping[str, Any], key: str) -> Any:
    if key in section:
        return section[key]
    node: Any = section
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


class SettingsManager:
    """Applies settings sections; remembers the values from below the LSP layer."""

    def __init__(self) -> None:
        self.server = ServerSettings()
        # What the environment and files said, for settings the client leaves unset;
        # taken at the first section applied (the config is not loaded before that).
        self._baseline: dict[str, Any] | None = None
        self._values: Mapping[str, Any] = {}

    def rebase(self) -> None:
        """The config was loaded again (trust or roots changed): take the baseline afresh."""
        self._baseline = None

    def _baseline_value(self, field: str) -> Any:
        if self._baseline is None:
            config = get_config()
            self._baseline = {name: getattr(config, name) for name in _CONFIG_FIELDS.values()}
        return self._baseline[field]

    def apply(self, section: Any) -> list[str]:
        """Apply one settings section; returns a message per invalid setting."""
        values = plain(section)
        if not isinstance(values, Mapping):
            if values is None:
                values = {}
            else:
                return [
                    f"Aurelis: the `{SECTION}` settings must be an object; "
                    "keeping the current ones."
                ]
        self._values = values
        problems = [
            problem for key in _CONFIG_FIELDS if (problem := self._apply_config(values, key))
        ]
        problems.extend(self._apply_server(values))
        return problems

    def overrides(self, below: AurelisConfig) -> dict[str, Any]:
        """The editor's settings for a config loaded apart (one workspace root's), over
        `below`; a value that is not valid for it is left out (reported when applied)."""
        found: dict[str, Any] = {}
        for key, field in _CONFIG_FIELDS.items():
            raw = _lookup(self._values, key)
            if raw is _MISSING or raw is None or raw == "":
                continue
            try:
                value = _over(key, raw, getattr(below, field))
                below.model_copy(deep=True).update({field: value})
            except ConfigurationError:
                continue
            found[field] = value
        return found

    def _apply_config(self, values: Mapping[str, Any], key: str) -> str | None:
        field = _CONFIG_FIELDS[key]
        config = get_config()
        try:
            wanted = self._wanted(key, _lookup(values, key))
            if wanted != getattr(config, field):
                config.update({field: wanted})
        except ConfigurationError as error:
            return _invalid(key, error.message.removeprefix("invalid setting "))
        return None

    def _wanted(self, key: str, raw: Any) -> Any:
        baseline = self._baseline_value(_CONFIG_FIELDS[key])
        if raw is _MISSING or raw is None or raw == "":
            return baseline
        return _over(key, raw, baseline)

    def _apply_server(self, values: Mapping[str, Any]) -> list[str]:
        problems = []
        changes: dict[str, Any] = {}
        for key, field in (
            ("inlineCompletion.enabled", "inline_enabled"),
            ("context.acrossRoots", "context_across_roots"),
        ):
            flag = _lookup(values, key)
            if flag is _MISSING or flag is None:
                if field == "context_across_roots":
                    changes[field] = False  # removed: back to each folder on its own
                continue
            if isinstance(flag, bool):
                changes[field] = flag
            else:
                problems.append(_invalid(key, f"{flag!r}: expected true or false"))
        debounce = _lookup(values, "inlineCompletion.debounceMs")
        if debounce is not _MISSING and debounce is not None:
            if _is_number(debounce) and 0 <= debounce <= _MAX_DEBOUNCE_MS:
                changes["debounce_ms"] = int(debounce)
            else:
                problems.append(
                    _invalid(
                        "inlineCompletion.debounceMs",
                        f"{debounce!r}: expected a number of milliseconds "
                        f"from 0 to {_MAX_DEBOUNCE_MS}",
                    )
                )
        temperature = _lookup(values, "inlineCompletion.temperature")
        if temperature is _MISSING or temperature is None:
            changes["inline_temperature"] = 0.0
        elif _is_number(temperature) and 0 <= temperature <= 2:
            changes["inline_temperature"] = float(temperature)
        else:
            problems.append(
                _invalid(
                    "inlineCompletion.temperature", f"{temperature!r}: expected a number 0 to 2"
                )
            )
        index, index_problems = _index_settings(values, self.server.index)
        self.server = dataclasses.replace(self.server, index=index, **changes)
        return problems + index_problems


def _over(key: str, raw: Any, below: Any) -> Any:
    """The value of client setting `key` set to `raw`, over `below` (routing merges)."""
    if key != "models.routing":
        return raw
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{raw!r}: expected an object mapping task names to models")
    merged = {getattr(task, "value", task): model for task, model in below.items()}
    merged.update({str(task): model for task, model in raw.items()})
    return merged


def _index_settings(
    values: Mapping[str, Any], current: IndexSettings
) -> tuple[IndexSettings, list[str]]:
    problems = []
    changes: dict[str, Any] = {}
    for key, field in (("index.enabled", "enabled"), ("index.openFilesOnly", "open_files_only")):
        raw = _lookup(values, key)
        if raw is _MISSING or raw is None:
            changes[field] = getattr(IndexSettings(), field)
        elif isinstance(raw, bool):
            changes[field] = raw
        else:
            problems.append(_invalid(key, f"{raw!r}: expected true or false"))
    exclude = _lookup(values, "index.exclude")
    if exclude is _MISSING or exclude is None:
        changes["exclude"] = ()
    elif isinstance(exclude, list) and all(isinstance(glob, str) for glob in exclude):
        changes["exclude"] = tuple(exclude)
    else:
        problems.append(_invalid("index.exclude", f"{exclude!r}: expected a list of globs"))
    return dataclasses.replace(current, **changes), problems


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _invalid(key: str, detail: str) -> str:
    short = detail if len(detail) <= 200 else detail[:197] + "..."
    return redact(
        f"Aurelis: invalid setting {SECTION}.{key} ({short}); keeping the previous value."
    )
