"""Provider instances, built by factories on first use and reused while their settings hold.

Two kinds of provider serve the models: "remote" (every catalog model but LOCAL) and
"local". Each kind has a factory taking the live config; the defaults build the
azure-ai-inference client and the embedded llama.cpp model, and tests pass their own (e.g.
`aurelis.testing.FakeProvider`). A provider is rebuilt when the settings it was built from
change — endpoint, token and timeouts for "remote"; model file, context size and threads for
"local" — so a live config change reaches the next request; the old one is closed at the end.
A few remote providers are kept side by side: a language server serves each workspace root
with that root's endpoint.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

from aurelis.core.config import AurelisConfig
from aurelis.core.secrets import register_secret
from aurelis.models.providers.azure_inference import AzureInferenceProvider
from aurelis.models.providers.base import Completion, Provider, ProviderCall, StreamChunk
from aurelis.models.providers.fim import FimProvider
from aurelis.models.providers.local import LocalProvider
from aurelis.models.types import ModelType

__all__ = [
    "DEFAULT_FACTORIES",
    "PROVIDER_KINDS",
    "ProviderFactory",
    "ProviderKind",
    "ProviderRegistry",
    "azure_provider",
    "fim_provider",
    "local_provider",
    "provider_kind",
]

ProviderKind = Literal["remote", "local", "fim"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("remote", "local", "fim")

#: Builds the provider of one kind from the config in force.
ProviderFactory = Callable[[AurelisConfig], Provider]


def provider_kind(model: ModelType, *, fim: bool = False) -> ProviderKind:
    """The kind for LOCAL is "local"; a remote model's FIM calls take "fim"."""
    if model is ModelType.LOCAL:
        return "local"
    return "fim" if fim else "remote"


def _token(config: AurelisConfig) -> str | None:
    return config.token.get_secret_value() if config.token else None


def _remote_settings(config: AurelisConfig) -> tuple[Any, ...]:
    return (config.endpoint, _token(config), config.connect_timeout, config.request_timeout)


def _local_settings(config: AurelisConfig) -> tuple[Any, ...]:
    return (config.local_model_path, config.local_context_size, config.local_threads)


def _fim_settings(config: AurelisConfig) -> tuple[Any, ...]:
    return (*_remote_settings(config), tuple(sorted(config.inline_fim.items())))


#: Providers kept per kind, least recently used dropped first: one local model (a changed
#: setting replaces its worker process), a few remote clients (each workspace root may
#: name its own endpoint, and switching files must not rebuild the client every time).
_KEPT: dict[ProviderKind, int] = {"local": 1, "remote": 4, "fim": 4}

_SETTINGS: dict[ProviderKind, Callable[[AurelisConfig], tuple[Any, ...]]] = {
    "remote": _remote_settings,
    "local": _local_settings,
    "fim": _fim_settings,
}


def azure_provider(config: AurelisConfig) -> Provider:
    """The default remote provider: azure-ai-inference's client for the configured endpoint."""
    return AzureInferenceProvider(
        config.endpoint,
        _token(config),
        token_source=config.token_source,
        connect_timeout=config.connect_timeout,
        read_timeout=config.request_timeout,
    )


def local_provider(config: AurelisConfig) -> Provider:
    """The default local provider: the embedded llama.cpp model (loaded on first call)."""
    return LocalProvider(
        config.local_model_path,
        context_size=config.local_context_size,
        threads=config.local_threads,
    )


def fim_provider(config: AurelisConfig) -> Provider:
    """Fill-in-the-middle at the configured endpoint, for the models `inline_fim` names."""
    return FimProvider(
        config.endpoint,
        _token(config),
        dialects={model.value: dialect for model, dialect in config.inline_fim.items()},
        connect_timeout=config.connect_timeout,
        read_timeout=config.request_timeout,
    )


DEFAULT_FACTORIES: Mapping[str, ProviderFactory] = {
    "remote": azure_provider,
    "local": local_provider,
    "fim": fim_provider,
}


class ProviderRegistry:
    """The provider of each kind, rebuilt by its factory when its settings change."""

    def __init__(self, factories: Mapping[str, ProviderFactory] | None = None) -> None:
        unknown = sorted(set(factories or {}) - set(PROVIDER_KINDS))
        if unknown:
            raise ValueError(
                f"unknown provider kind(s) {unknown}; expected some of {list(PROVIDER_KINDS)}"
            )
        self._factories: dict[str, ProviderFactory] = {**DEFAULT_FACTORIES, **(factories or {})}
        self._built: dict[ProviderKind, OrderedDict[tuple[Any, ...], Provider]] = {}
        self._retired: list[Provider] = []

    def provider_for(self, model: ModelType, config: AurelisConfig) -> Provider:
        """The provider serving `model`; a remote model's fill-in-the-middle calls (those
        with `call.fim`) go to the "fim" provider, its chat calls to the "remote" one."""
        if model is ModelType.LOCAL or not config.inline_fim:
            return self._of_kind(provider_kind(model), config)
        return _ByCallKind(self, config)

    def _of_kind(self, kind: ProviderKind, config: AurelisConfig) -> Provider:
        settings = _SETTINGS[kind](config)
        built = self._built.setdefault(kind, OrderedDict())
        provider = built.get(settings)
        if provider is not None:
            built.move_to_end(settings)
            return provider
        if kind != "local":
            register_secret(_token(config))  # before anything could log or raise it
        provider = self._factories[kind](config)
        built[settings] = provider
        while len(built) > _KEPT[kind]:
            self._retired.append(built.popitem(last=False)[1])
        return provider

    async def close(self) -> None:
        providers = [*self._retired, *(p for built in self._built.values() for p in built.values())]
        self._retired, self._built = [], {}
        unique = list({id(provider): provider for provider in providers}.values())
        await asyncio.gather(*(provider.close() for provider in unique), return_exceptions=True)


class _ByCallKind:
    """A remote model's provider when some models speak fill-in-the-middle: each call goes
    to the "fim" or the "remote" provider by its kind. Owns nothing (the registry does)."""

    name = "remote"

    def __init__(self, registry: ProviderRegistry, config: AurelisConfig) -> None:
        self._registry, self._config = registry, config

    def _for(self, call: ProviderCall) -> Provider:
        return self._registry._of_kind("fim" if call.fim is not None else "remote", self._config)

    async def complete(self, call: ProviderCall) -> Completion:
        return await self._for(call).complete(call)

    def stream(self, call: ProviderCall) -> AsyncIterator[StreamChunk]:
        return self._for(call).stream(call)

    async def close(self) -> None:
        return None
