"""Provider instances, created on first use and reused while the config they came from holds.

The remote client is keyed by (endpoint, token, timeouts): changing any of them in the
live config gives the next request a new client; the old one is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aurelis.core.config import AurelisConfig
from aurelis.core.redaction import register_secret
from aurelis.models.providers.azure_inference import AzureInferenceProvider
from aurelis.models.providers.base import Provider
from aurelis.models.providers.local import LocalProvider
from aurelis.models.types import ModelType

__all__ = ["ProviderRegistry"]


class ProviderRegistry:
    def __init__(self) -> None:
        self._remote: AzureInferenceProvider | None = None
        self._remote_key: tuple[Any, ...] | None = None
        self._local: LocalProvider | None = None
        self._local_key: tuple[Any, ...] | None = None
        self._retired: list[Provider] = []

    def provider_for(self, model: ModelType, config: AurelisConfig) -> Provider:
        if model is ModelType.LOCAL:
            return self.local(config)
        return self.remote(config)

    def remote(self, config: AurelisConfig) -> AzureInferenceProvider:
        token = config.token.get_secret_value() if config.token else None
        key = (config.endpoint, token, config.connect_timeout, config.request_timeout)
        if self._remote is None or key != self._remote_key:
            register_secret(token)
            if self._remote is not None:
                self._retired.append(self._remote)
            self._remote = AzureInferenceProvider(
                config.endpoint,
                token,
                token_source=config.token_source,
                connect_timeout=config.connect_timeout,
                read_timeout=config.request_timeout,
            )
            self._remote_key = key
        return self._remote

    def local(self, config: AurelisConfig) -> LocalProvider:
        key = (config.local_model_path, config.local_context_size, config.local_threads)
        if self._local is None or key != self._local_key:
            self._local = LocalProvider(
                config.local_model_path,
                context_size=config.local_context_size,
                threads=config.local_threads,
            )
            self._local_key = key
        return self._local

    async def close(self) -> None:
        providers = [*self._retired, self._remote, self._local]
        self._retired, self._remote, self._local = [], None, None
        self._remote_key = self._local_key = None
        await asyncio.gather(
            *(p.close() for p in providers if p is not None), return_exceptions=True
        )
